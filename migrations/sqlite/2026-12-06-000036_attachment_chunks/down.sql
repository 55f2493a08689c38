ALTER TABLE attachment_blobs ADD COLUMN bytes BLOB NOT NULL DEFAULT x'';
-- SQLite concatenates blobs as text of the same bytes; the cast makes them a blob again.
UPDATE attachment_blobs SET bytes = CAST(COALESCE((
    SELECT group_concat(bytes, '') FROM (
        SELECT bytes FROM attachment_chunks
        WHERE attachment_chunks.sha256 = attachment_blobs.sha256 ORDER BY seq
    )
), '') AS BLOB);
DROP TABLE attachment_chunks;

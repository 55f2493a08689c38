ALTER TABLE attachment_blobs ADD COLUMN bytes BYTEA NOT NULL DEFAULT '';
UPDATE attachment_blobs SET bytes = COALESCE((
    SELECT string_agg(c.bytes, ''::bytea ORDER BY c.seq) FROM attachment_chunks c
    WHERE c.sha256 = attachment_blobs.sha256
), '');
ALTER TABLE attachment_blobs ALTER COLUMN bytes DROP DEFAULT;
DROP TABLE attachment_chunks;

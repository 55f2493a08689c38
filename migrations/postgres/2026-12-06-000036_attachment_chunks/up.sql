-- Attachment bytes in pieces of at most 1 MiB: an upload is written piece by piece as it
-- arrived and served piece by piece, so no step copies a whole file into one buffer (the
-- database driver copied the single value once more).
CREATE TABLE attachment_chunks (
    sha256 TEXT NOT NULL,
    seq INTEGER NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (sha256, seq)
);
INSERT INTO attachment_chunks (sha256, seq, bytes) SELECT sha256, 0, bytes FROM attachment_blobs;
ALTER TABLE attachment_blobs DROP COLUMN bytes;

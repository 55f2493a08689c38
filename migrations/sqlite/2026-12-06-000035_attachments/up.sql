-- Evidence kept with the record: files attached to an incident, stored in the database
-- (several servers on one PostgreSQL need nothing more) and by content: a file attached
-- twice is stored once. Images are re-encoded on upload (their metadata, EXIF location
-- included, dropped); only those are ever shown inline.
CREATE TABLE attachment_blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    bytes BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    -- No foreign key: a purge deletes the bytes and keeps this row (and its hash).
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    inline_image BOOLEAN NOT NULL,
    created_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    purged_at TIMESTAMP,
    purged_by INTEGER REFERENCES users (id)
);
CREATE INDEX attachments_incident ON attachments (incident_id);
CREATE INDEX attachments_sha256 ON attachments (sha256);

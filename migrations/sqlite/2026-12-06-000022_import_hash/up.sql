-- SHA-256 of an imported document (line endings normalised): the same document imported
-- again is found and refused unless asked for.
ALTER TABLE incidents ADD COLUMN import_hash TEXT;
CREATE INDEX incidents_import_hash ON incidents (import_hash) WHERE import_hash IS NOT NULL;

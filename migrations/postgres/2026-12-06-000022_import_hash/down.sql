DROP INDEX incidents_import_hash;
ALTER TABLE incidents DROP COLUMN import_hash;

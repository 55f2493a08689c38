ALTER TABLE timeline_entries DROP COLUMN imported_author;

ALTER TABLE timeline_entries DROP COLUMN marker;
ALTER TABLE timeline_entries DROP COLUMN starred;

ALTER TABLE incidents DROP COLUMN timeline_rev;

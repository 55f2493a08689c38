ALTER TABLE incidents DROP COLUMN commander_nudged_at;
ALTER TABLE incidents DROP COLUMN update_nudged_due_at;
ALTER TABLE incidents DROP COLUMN next_update_due_at;
DROP TABLE incident_updates;

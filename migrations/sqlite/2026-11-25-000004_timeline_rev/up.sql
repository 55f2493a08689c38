-- Bumped with every change to an incident's timeline (add, edit, delete) in the same
-- transaction: the key of the incident page's rendered-timeline cache.
ALTER TABLE incidents ADD COLUMN timeline_rev INTEGER NOT NULL DEFAULT 0;

-- Insights' time in dead ends reads only dead-end entries and diagnosis marks: two small
-- partial indexes, so it does not read a million entries to find them.
CREATE INDEX timeline_entries_dead_ends ON timeline_entries (incident_id, occurred_at)
    WHERE kind = 'misleading' AND deleted_at IS NULL;
CREATE INDEX timeline_entries_diagnoses ON timeline_entries (incident_id, occurred_at)
    WHERE marker = 'diagnosis' AND deleted_at IS NULL;

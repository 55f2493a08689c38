DROP INDEX timeline_entries_diagnoses;
DROP INDEX timeline_entries_dead_ends;

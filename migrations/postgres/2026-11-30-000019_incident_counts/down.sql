DROP TRIGGER incident_counts_update ON incidents;
DROP TRIGGER incident_counts_insert_delete ON incidents;
DROP FUNCTION incident_counts_track();
DROP TABLE incident_counts;

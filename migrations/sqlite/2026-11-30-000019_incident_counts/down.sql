DROP TRIGGER incident_counts_update;
DROP TRIGGER incident_counts_delete;
DROP TRIGGER incident_counts_insert;
DROP TABLE incident_counts;

DROP TABLE incident_events;
ALTER TABLE incidents DROP COLUMN event_seq;

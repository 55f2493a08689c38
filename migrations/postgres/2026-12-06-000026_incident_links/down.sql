ALTER TABLE incidents DROP COLUMN duplicate_of;
DROP TABLE incident_links;

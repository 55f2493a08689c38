DROP TABLE incident_revisions;

ALTER TABLE webhooks DROP COLUMN restricted_too;
DROP TABLE incident_member_teams;
DROP TABLE incident_members;
ALTER TABLE incidents DROP COLUMN restricted;

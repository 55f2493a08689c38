DROP INDEX incident_updates_unannounced;
ALTER TABLE incident_updates DROP COLUMN announced;
ALTER TABLE postmortems DROP COLUMN public;
ALTER TABLE status_maintenances DROP COLUMN announced;
ALTER TABLE mail_outbox DROP COLUMN subscriber_token;
DROP TABLE status_subscribe_requests;
DROP TABLE status_subscriber_components;
DROP TABLE status_subscribers;

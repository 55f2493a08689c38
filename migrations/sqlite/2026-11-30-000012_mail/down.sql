DROP TABLE mail_outbox;
DROP TABLE notification_prefs;
ALTER TABLE users DROP COLUMN digest_sent_on;
ALTER TABLE users DROP COLUMN email;

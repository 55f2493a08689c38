ALTER TABLE webhooks DROP COLUMN format;

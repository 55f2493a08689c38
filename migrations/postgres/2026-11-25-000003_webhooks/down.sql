ALTER TABLE tasks DROP COLUMN overdue_notified_on;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;

-- How a hook's deliveries are shaped: 'hindsight' (signed event JSON) or 'chat' (Slack /
-- Mattermost incoming-webhook JSON: text and blocks).
ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'hindsight';

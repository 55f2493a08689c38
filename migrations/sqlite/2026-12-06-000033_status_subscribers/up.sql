-- Status page subscribers: an address asks, a confirmation link proves it (nothing else is
-- sent before), and every mail carries the subscription's token for one-click unsubscribe
-- (RFC 8058) and managing its components. The token is kept as it is mailed: it only
-- manages the one subscription its mails already go to. No components = the whole page.
CREATE TABLE status_subscribers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL UNIQUE,
    confirmed_at TIMESTAMP,
    -- The last mail this address was sent about subscribing (per-address throttle).
    mailed_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE status_subscriber_components (
    subscriber_id INTEGER NOT NULL REFERENCES status_subscribers (id) ON DELETE CASCADE,
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (subscriber_id, service_id)
);
CREATE INDEX status_subscriber_components_service ON status_subscriber_components (service_id);
-- Subscribe requests per client, for the per-client throttle.
CREATE TABLE status_subscribe_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ip TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL
);
CREATE INDEX status_subscribe_requests_ip ON status_subscribe_requests (ip, requested_at);
-- A mail to a subscriber names its subscription (List-Unsubscribe, the manage link).
ALTER TABLE mail_outbox ADD COLUMN subscriber_token TEXT;
-- The step of each maintenance window subscribers were last told (once per step).
ALTER TABLE status_maintenances ADD COLUMN announced TEXT NOT NULL DEFAULT '';
UPDATE status_maintenances SET announced = 'completed' WHERE ends_at < CURRENT_TIMESTAMP;
-- Public updates and maintenance steps are told to subscribers by a worker, once each
-- (a conditional update claims each); what was posted before this is not told again.
ALTER TABLE incident_updates ADD COLUMN announced BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE incident_updates SET announced = TRUE;
CREATE INDEX incident_updates_unannounced ON incident_updates (id) WHERE announced = FALSE;
-- A published postmortem an admin marked public shows its summary on the status page.
ALTER TABLE postmortems ADD COLUMN public BOOLEAN NOT NULL DEFAULT FALSE;

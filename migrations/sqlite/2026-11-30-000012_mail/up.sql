-- E-mail: an address per user, a channel per user and kind of notification, and an outbox
-- that the change's own transaction writes to (sent by a worker, like webhooks).
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN digest_sent_on DATE;
CREATE TABLE notification_prefs (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);
CREATE INDEX notification_prefs_kind ON notification_prefs (kind, channel);
CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);

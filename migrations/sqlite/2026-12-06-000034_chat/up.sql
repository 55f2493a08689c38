-- Chat: which hindsight user a chat user is (by the e-mail the platform verified, or a
-- one-time connect link), which incident a channel is linked to, the signed requests
-- already seen (a replay is refused), and connect links not yet used.
CREATE TABLE chat_users (
    platform TEXT NOT NULL,
    chat_user_id TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (platform, chat_user_id)
);
CREATE TABLE chat_channels (
    platform TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    linked_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (platform, channel_id)
);
CREATE INDEX chat_channels_incident ON chat_channels (incident_id);
CREATE TABLE chat_seen (
    seen_key TEXT PRIMARY KEY,
    seen_at TIMESTAMP NOT NULL
);
CREATE INDEX chat_seen_at ON chat_seen (seen_at);
CREATE TABLE chat_connect_links (
    token_hash TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    chat_user_id TEXT NOT NULL,
    chat_name TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
-- Messages to linked channels, posted by the outbox loop (once across servers, retried).
CREATE TABLE chat_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX chat_outbox_due ON chat_outbox (status, next_attempt_at);

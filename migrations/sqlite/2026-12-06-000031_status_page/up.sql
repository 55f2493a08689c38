-- The public status page: one row of settings (off until an admin turns it on), and a
-- state an admin may set by hand on a public service (null: from its incidents).
CREATE TABLE status_page (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    title TEXT NOT NULL,
    logo_url TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO status_page (id, enabled, title, logo_url, updated_at) VALUES (1, FALSE, 'Status', '', CURRENT_TIMESTAMP);
ALTER TABLE services ADD COLUMN status_override TEXT;

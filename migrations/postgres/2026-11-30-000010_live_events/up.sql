-- Live updates: every change to an incident gets the next number of its own sequence, taken
-- under the incident's row lock in the change's transaction, so numbers commit in order and
-- a stream that reconnects with `Last-Event-ID` reads exactly what it missed.
ALTER TABLE incidents ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;
CREATE TABLE incident_events (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject_id INTEGER,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, seq)
);

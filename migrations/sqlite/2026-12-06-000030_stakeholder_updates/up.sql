-- Stakeholder updates: a structured word to the people waiting (state, impact, what is
-- being done, when the next word comes), internal or public, each also a communication
-- entry on the timeline. The incident keeps when the next update is due (from the last
-- update or the severity's cadence) and which due time its lead was nudged for.
CREATE TABLE incident_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    audience TEXT NOT NULL,
    state TEXT NOT NULL,
    impact TEXT NOT NULL,
    actions TEXT NOT NULL,
    next_update_at TIMESTAMP,
    entry_id INTEGER REFERENCES timeline_entries (id) ON DELETE SET NULL,
    author_id INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, created_at);
ALTER TABLE incidents ADD COLUMN next_update_due_at TIMESTAMP;
ALTER TABLE incidents ADD COLUMN update_nudged_due_at TIMESTAMP;
ALTER TABLE incidents ADD COLUMN commander_nudged_at TIMESTAMP;

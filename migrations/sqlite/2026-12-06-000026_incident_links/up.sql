-- Links between incidents ("related", "caused by", "duplicate of"), made from one incident
-- and shown on both. A duplicate names the incident it duplicates and is left out of
-- insights' counts.
CREATE TABLE incident_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    other_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (incident_id, other_id)
);
CREATE INDEX incident_links_other ON incident_links (other_id);
ALTER TABLE incidents ADD COLUMN duplicate_of INTEGER REFERENCES incidents (id);

-- Every version of an incident's editable fields (JSON), so that an edit that lost a race
-- is merged three ways against the version it started from.
CREATE TABLE incident_revisions (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    fields TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, version)
);

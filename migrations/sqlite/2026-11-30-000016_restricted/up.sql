-- Restricted incidents: seen only by their members (users, and members of their teams) and
-- admins. Hooks must opt in to hear of them.
ALTER TABLE incidents ADD COLUMN restricted BOOLEAN NOT NULL DEFAULT 0;
CREATE TABLE incident_members (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (incident_id, user_id)
);
CREATE INDEX incident_members_user ON incident_members (user_id);
CREATE TABLE incident_member_teams (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    PRIMARY KEY (incident_id, team_id)
);
ALTER TABLE webhooks ADD COLUMN restricted_too BOOLEAN NOT NULL DEFAULT 0;

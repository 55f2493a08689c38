-- Services become a catalog: who owns one, how critical it is, where its runbook lives,
-- and whether it is a component of the public status page. Free-text services an
-- incident names still create a bare entry, which an admin can fill in later.
ALTER TABLE services ADD COLUMN team_id INTEGER REFERENCES teams (id) ON DELETE SET NULL;
ALTER TABLE services ADD COLUMN tier INTEGER;
ALTER TABLE services ADD COLUMN runbook_url TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN public BOOLEAN NOT NULL DEFAULT FALSE;

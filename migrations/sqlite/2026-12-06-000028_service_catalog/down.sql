ALTER TABLE services DROP COLUMN public;
ALTER TABLE services DROP COLUMN description;
ALTER TABLE services DROP COLUMN runbook_url;
ALTER TABLE services DROP COLUMN tier;
ALTER TABLE services DROP COLUMN team_id;

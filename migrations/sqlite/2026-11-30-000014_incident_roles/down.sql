ALTER TABLE incidents DROP COLUMN ops_lead_id;
ALTER TABLE incidents DROP COLUMN scribe_id;
ALTER TABLE incidents DROP COLUMN comms_lead_id;

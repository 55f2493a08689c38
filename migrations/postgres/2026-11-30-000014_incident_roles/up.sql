-- Incident roles beside the commander.
ALTER TABLE incidents ADD COLUMN comms_lead_id INTEGER REFERENCES users (id);
ALTER TABLE incidents ADD COLUMN scribe_id INTEGER REFERENCES users (id);
ALTER TABLE incidents ADD COLUMN ops_lead_id INTEGER REFERENCES users (id);

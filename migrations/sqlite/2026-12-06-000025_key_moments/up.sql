-- Key moments: an entry can be starred, and marked as the moment of detection, diagnosis
-- or repair (the postmortem's "key moments" view, insights' time in dead ends).
ALTER TABLE timeline_entries ADD COLUMN starred BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE timeline_entries ADD COLUMN marker TEXT;

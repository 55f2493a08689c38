-- Each user's IANA time zone: pages show times in it and read typed times in it (the API,
-- exports and the audit log stay UTC).
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

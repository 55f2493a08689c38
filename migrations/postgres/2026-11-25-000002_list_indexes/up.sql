CREATE INDEX incidents_status_severity ON incidents (status, severity, started_at);

DROP INDEX incidents_status_severity;

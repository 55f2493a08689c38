DROP INDEX incidents_restricted;

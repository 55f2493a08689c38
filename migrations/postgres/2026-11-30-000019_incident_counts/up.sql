-- Incidents by status and severity, kept by triggers in the same transaction as every
-- change, so list pages get an exact total without counting 100,000 rows each time.
CREATE TABLE incident_counts (
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (status, severity)
);
INSERT INTO incident_counts (status, severity, n)
    SELECT status, severity, COUNT(*) FROM incidents GROUP BY status, severity;
CREATE FUNCTION incident_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE incident_counts SET n = n - 1
            WHERE status = OLD.status AND severity = OLD.severity;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO incident_counts (status, severity, n) VALUES (NEW.status, NEW.severity, 1)
            ON CONFLICT (status, severity) DO UPDATE SET n = incident_counts.n + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER incident_counts_insert_delete AFTER INSERT OR DELETE ON incidents
    FOR EACH ROW EXECUTE FUNCTION incident_counts_track();
CREATE TRIGGER incident_counts_update AFTER UPDATE OF status, severity ON incidents
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.severity IS DISTINCT FROM NEW.severity)
    EXECUTE FUNCTION incident_counts_track();

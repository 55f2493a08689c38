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
CREATE TRIGGER incident_counts_insert AFTER INSERT ON incidents BEGIN
    INSERT INTO incident_counts (status, severity, n) VALUES (NEW.status, NEW.severity, 1)
        ON CONFLICT (status, severity) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER incident_counts_delete AFTER DELETE ON incidents BEGIN
    UPDATE incident_counts SET n = n - 1 WHERE status = OLD.status AND severity = OLD.severity;
END;
CREATE TRIGGER incident_counts_update AFTER UPDATE OF status, severity ON incidents
    WHEN OLD.status IS NOT NEW.status OR OLD.severity IS NOT NEW.severity BEGIN
    UPDATE incident_counts SET n = n - 1 WHERE status = OLD.status AND severity = OLD.severity;
    INSERT INTO incident_counts (status, severity, n) VALUES (NEW.status, NEW.severity, 1)
        ON CONFLICT (status, severity) DO UPDATE SET n = n + 1;
END;

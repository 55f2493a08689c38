-- PostgreSQL's planner gets joint statistics of status and severity here; SQLite's needs
-- nothing (it reads a filtered list through the (status, severity, started_at) index).
SELECT 1;

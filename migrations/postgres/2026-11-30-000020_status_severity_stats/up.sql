-- Status and severity are not independent (few open incidents are SEV4, say): with their
-- joint frequencies the planner knows when a filtered list has few or no matches, and
-- reads them through the (status, severity, started_at) index instead of walking every
-- incident by start time looking for them (7 ms at 100,000 incidents for an empty page).
CREATE STATISTICS incidents_status_severity_mcv (mcv) ON status, severity FROM incidents;
ANALYZE incidents;

DROP INDEX IF EXISTS incidents_impact_trgm;
DROP INDEX IF EXISTS incidents_title_trgm;

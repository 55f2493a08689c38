-- Incident text search (`lower(title|impact) LIKE '%…%'`) through trigram indexes when the
-- pg_trgm extension can be created (it ships with PostgreSQL and is trusted, so a database
-- owner may); without it the same queries read the table, slower but the same answers.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX incidents_title_trgm ON incidents USING gin (lower(title) gin_trgm_ops);
    CREATE INDEX incidents_impact_trgm ON incidents USING gin (lower(impact) gin_trgm_ops);
EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
    RAISE NOTICE 'pg_trgm unavailable (%): incident search reads the table', SQLERRM;
END
$$;

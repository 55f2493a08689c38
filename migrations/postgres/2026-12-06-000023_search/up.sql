-- Search over everything written about an incident (src/search), with PostgreSQL's own
-- full-text search (no extension). One row per searchable text; its id says whose it is,
-- the same numbering as SQLite's FTS5 rowids:
--     id = incident_id * 2^32 + ref_id * 16 + code
-- code: 1 title, 2 impact, 3 timeline entry, 4 root cause, 5 task, 6 escalation,
-- 8..14 postmortem sections (ref_id 0). Triggers keep it in the writing transaction.
CREATE TABLE search_docs (
    id BIGINT PRIMARY KEY,
    body TEXT NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED
);
CREATE INDEX search_docs_tsv ON search_docs USING gin (tsv);

-- Replaces document `old_doc` (if any) by `doc` with `body` (none when null or empty).
CREATE FUNCTION search_put(old_doc BIGINT, doc BIGINT, body TEXT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF old_doc IS NOT NULL THEN
        DELETE FROM search_docs WHERE id = old_doc;
    END IF;
    IF doc IS NOT NULL AND body IS NOT NULL AND body <> '' THEN
        INSERT INTO search_docs (id, body) VALUES (doc, body)
            ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body;
    END IF;
END $$;

CREATE FUNCTION search_doc(incident INTEGER, ref INTEGER, code INTEGER) RETURNS BIGINT
LANGUAGE sql IMMUTABLE AS $$ SELECT incident::bigint * 4294967296 + ref::bigint * 16 + code $$;

CREATE FUNCTION search_incident_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM search_docs
        WHERE id >= search_doc(OLD.id, 0, 0) AND id < search_doc(OLD.id + 1, 0, 0);
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.title IS NOT DISTINCT FROM NEW.title
        AND OLD.impact IS NOT DISTINCT FROM NEW.impact THEN
        RETURN NULL;
    END IF;
    PERFORM search_put(search_doc(NEW.id, 0, 1), search_doc(NEW.id, 0, 1), NEW.title);
    PERFORM search_put(search_doc(NEW.id, 0, 2), search_doc(NEW.id, 0, 2), NEW.impact);
    RETURN NULL;
END $$;
CREATE TRIGGER search_incident AFTER INSERT OR DELETE OR UPDATE OF title, impact ON incidents
    FOR EACH ROW EXECUTE FUNCTION search_incident_sync();

-- Timeline entries, root causes, tasks and escalations: one document each (code from the
-- trigger's argument); a deleted entry leaves the index.
CREATE FUNCTION search_record_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    code INTEGER := TG_ARGV[0]::integer;
    old_doc BIGINT;
    new_doc BIGINT;
    new_body TEXT;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_doc := search_doc(OLD.incident_id, OLD.id, code);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_doc := search_doc(NEW.incident_id, NEW.id, code);
        -- IF, not CASE: each branch names columns only its own table has, and PL/pgSQL
        -- plans a statement only when it runs.
        IF TG_TABLE_NAME = 'timeline_entries' THEN
            -- Entries the record writes itself repeat what they describe.
            IF NEW.deleted_at IS NULL
                AND NEW.kind NOT IN ('status_change', 'reopened', 'change') THEN
                new_body := NEW.body;
            END IF;
        ELSIF TG_TABLE_NAME = 'root_causes' THEN
            new_body := NEW.description;
        ELSIF TG_TABLE_NAME = 'tasks' THEN
            new_body := NEW.title || chr(10) || NEW.description;
        ELSE
            new_body := NEW.target || chr(10) || NEW.reason;
        END IF;
    END IF;
    PERFORM search_put(old_doc, new_doc, new_body);
    RETURN NULL;
END $$;
CREATE TRIGGER search_entry
    AFTER INSERT OR DELETE OR UPDATE OF body, deleted_at, incident_id ON timeline_entries
    FOR EACH ROW EXECUTE FUNCTION search_record_sync(3);
CREATE TRIGGER search_cause
    AFTER INSERT OR DELETE OR UPDATE OF description, incident_id ON root_causes
    FOR EACH ROW EXECUTE FUNCTION search_record_sync(4);
CREATE TRIGGER search_task
    AFTER INSERT OR DELETE OR UPDATE OF title, description, incident_id ON tasks
    FOR EACH ROW EXECUTE FUNCTION search_record_sync(5);
CREATE TRIGGER search_escalation
    AFTER INSERT OR DELETE OR UPDATE OF target, reason, incident_id ON escalations
    FOR EACH ROW EXECUTE FUNCTION search_record_sync(6);

CREATE FUNCTION search_postmortem_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM search_docs
        WHERE id BETWEEN search_doc(OLD.incident_id, 0, 8) AND search_doc(OLD.incident_id, 0, 14);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO search_docs (id, body)
        SELECT search_doc(NEW.incident_id, 0, s.code), s.body
        FROM unnest(ARRAY[8, 9, 10, 11, 12, 13, 14],
                    ARRAY[NEW.summary, NEW.resolution, NEW.improvements, NEW.lessons_went_well,
                          NEW.lessons_went_wrong, NEW.lessons_lucky, NEW.conclusion]) AS s(code, body)
        WHERE s.body <> '';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER search_postmortem
    AFTER INSERT OR DELETE OR UPDATE OF summary, resolution, improvements, lessons_went_well,
        lessons_went_wrong, lessons_lucky, conclusion ON postmortems
    FOR EACH ROW EXECUTE FUNCTION search_postmortem_sync();

-- What is already written.
INSERT INTO search_docs (id, body) SELECT search_doc(id, 0, 1), title FROM incidents;
INSERT INTO search_docs (id, body)
    SELECT search_doc(id, 0, 2), impact FROM incidents WHERE impact <> '';
INSERT INTO search_docs (id, body)
    SELECT search_doc(incident_id, id, 3), body FROM timeline_entries
    WHERE deleted_at IS NULL AND kind NOT IN ('status_change', 'reopened', 'change');
INSERT INTO search_docs (id, body)
    SELECT search_doc(incident_id, id, 4), description FROM root_causes WHERE description <> '';
INSERT INTO search_docs (id, body)
    SELECT search_doc(incident_id, id, 5), title || chr(10) || description FROM tasks;
INSERT INTO search_docs (id, body)
    SELECT search_doc(incident_id, id, 6), target || chr(10) || reason FROM escalations;
INSERT INTO search_docs (id, body)
    SELECT search_doc(p.incident_id, 0, s.code), s.body
    FROM postmortems p,
         unnest(ARRAY[8, 9, 10, 11, 12, 13, 14],
                ARRAY[p.summary, p.resolution, p.improvements, p.lessons_went_well,
                      p.lessons_went_wrong, p.lessons_lucky, p.conclusion]) AS s(code, body)
    WHERE s.body <> '';

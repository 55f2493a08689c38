-- Documents written by a transaction wait in search_pending and go into the FTS5 index
-- once, just before it commits (db::commit, the one way transactions and the writer's
-- groups commit). FTS5 writes its pending terms to disk at every savepoint, and the writer
-- gives each write a savepoint: indexing each row directly wrote a segment per write and
-- cost appends 43% (5,027/s → 2,873/s). A search never sees this table (it is emptied in
-- the same transaction); deletions still reach the index at once.
CREATE TABLE search_pending (doc INTEGER PRIMARY KEY, body TEXT NOT NULL);

DROP TRIGGER search_incident_insert;
DROP TRIGGER search_incident_update;
DROP TRIGGER search_incident_delete;
DROP TRIGGER search_entry_insert;
DROP TRIGGER search_entry_update;
DROP TRIGGER search_entry_delete;
DROP TRIGGER search_cause_insert;
DROP TRIGGER search_cause_update;
DROP TRIGGER search_cause_delete;
DROP TRIGGER search_task_insert;
DROP TRIGGER search_task_update;
DROP TRIGGER search_task_delete;
DROP TRIGGER search_escalation_insert;
DROP TRIGGER search_escalation_update;
DROP TRIGGER search_escalation_delete;
DROP TRIGGER search_postmortem_insert;
DROP TRIGGER search_postmortem_update;
DROP TRIGGER search_postmortem_delete;

CREATE TRIGGER search_incident_insert AFTER INSERT ON incidents BEGIN
    INSERT OR REPLACE INTO search_pending (doc, body) VALUES (new.id * 4294967296 + 1, new.title);
    INSERT OR REPLACE INTO search_pending (doc, body)
        SELECT new.id * 4294967296 + 2, new.impact WHERE new.impact <> '';
END;
CREATE TRIGGER search_incident_update AFTER UPDATE OF title, impact ON incidents
WHEN old.title IS NOT new.title OR old.impact IS NOT new.impact BEGIN
    DELETE FROM search_pending WHERE doc IN (old.id * 4294967296 + 1, old.id * 4294967296 + 2);
    DELETE FROM search_docs WHERE rowid IN (old.id * 4294967296 + 1, old.id * 4294967296 + 2);
    INSERT OR REPLACE INTO search_pending (doc, body) VALUES (new.id * 4294967296 + 1, new.title);
    INSERT OR REPLACE INTO search_pending (doc, body)
        SELECT new.id * 4294967296 + 2, new.impact WHERE new.impact <> '';
END;
CREATE TRIGGER search_incident_delete AFTER DELETE ON incidents BEGIN
    DELETE FROM search_pending WHERE doc >= old.id * 4294967296 AND doc < (old.id + 1) * 4294967296;
    DELETE FROM search_docs WHERE rowid >= old.id * 4294967296 AND rowid < (old.id + 1) * 4294967296;
END;

-- Entries the record writes itself (status changes, reopenings, field changes) repeat
-- what they describe; only what people wrote is searched.
CREATE TRIGGER search_entry_insert AFTER INSERT ON timeline_entries
WHEN new.deleted_at IS NULL AND new.kind NOT IN ('status_change', 'reopened', 'change') BEGIN
    INSERT OR REPLACE INTO search_pending (doc, body)
        VALUES (new.incident_id * 4294967296 + new.id * 16 + 3, new.body);
END;
CREATE TRIGGER search_entry_update AFTER UPDATE OF body, deleted_at, incident_id ON timeline_entries
WHEN old.body IS NOT new.body OR old.deleted_at IS NOT new.deleted_at
    OR old.incident_id IS NOT new.incident_id BEGIN
    DELETE FROM search_pending WHERE doc = old.incident_id * 4294967296 + old.id * 16 + 3;
    DELETE FROM search_docs WHERE rowid = old.incident_id * 4294967296 + old.id * 16 + 3;
    INSERT OR REPLACE INTO search_pending (doc, body)
        SELECT new.incident_id * 4294967296 + new.id * 16 + 3, new.body
        WHERE new.deleted_at IS NULL AND new.kind NOT IN ('status_change', 'reopened', 'change');
END;
CREATE TRIGGER search_entry_delete AFTER DELETE ON timeline_entries BEGIN
    DELETE FROM search_pending WHERE doc = old.incident_id * 4294967296 + old.id * 16 + 3;
    DELETE FROM search_docs WHERE rowid = old.incident_id * 4294967296 + old.id * 16 + 3;
END;

CREATE TRIGGER search_cause_insert AFTER INSERT ON root_causes BEGIN
    INSERT OR REPLACE INTO search_pending (doc, body)
        VALUES (new.incident_id * 4294967296 + new.id * 16 + 4, new.description);
END;
CREATE TRIGGER search_cause_update AFTER UPDATE OF description, incident_id ON root_causes
WHEN old.description IS NOT new.description OR old.incident_id IS NOT new.incident_id BEGIN
    DELETE FROM search_pending WHERE doc = old.incident_id * 4294967296 + old.id * 16 + 4;
    DELETE FROM search_docs WHERE rowid = old.incident_id * 4294967296 + old.id * 16 + 4;
    INSERT OR REPLACE INTO search_pending (doc, body)
        VALUES (new.incident_id * 4294967296 + new.id * 16 + 4, new.description);
END;
CREATE TRIGGER search_cause_delete AFTER DELETE ON root_causes BEGIN
    DELETE FROM search_pending WHERE doc = old.incident_id * 4294967296 + old.id * 16 + 4;
    DELETE FROM search_docs WHERE rowid = old.incident_id * 4294967296 + old.id * 16 + 4;
END;

CREATE TRIGGER search_task_insert AFTER INSERT ON tasks BEGIN
    INSERT OR REPLACE INTO search_pending (doc, body)
        VALUES (new.incident_id * 4294967296 + new.id * 16 + 5, new.title || char(10) || new.description);
END;
CREATE TRIGGER search_task_update AFTER UPDATE OF title, description, incident_id ON tasks
WHEN old.title IS NOT new.title OR old.description IS NOT new.description
    OR old.incident_id IS NOT new.incident_id BEGIN
    DELETE FROM search_pending WHERE doc = old.incident_id * 4294967296 + old.id * 16 + 5;
    DELETE FROM search_docs WHERE rowid = old.incident_id * 4294967296 + old.id * 16 + 5;
    INSERT OR REPLACE INTO search_pending (doc, body)
        VALUES (new.incident_id * 4294967296 + new.id * 16 + 5, new.title || char(10) || new.description);
END;
CREATE TRIGGER search_task_delete AFTER DELETE ON tasks BEGIN
    DELETE FROM search_pending WHERE doc = old.incident_id * 4294967296 + old.id * 16 + 5;
    DELETE FROM search_docs WHERE rowid = old.incident_id * 4294967296 + old.id * 16 + 5;
END;

CREATE TRIGGER search_escalation_insert AFTER INSERT ON escalations BEGIN
    INSERT OR REPLACE INTO search_pending (doc, body)
        VALUES (new.incident_id * 4294967296 + new.id * 16 + 6, new.target || char(10) || new.reason);
END;
CREATE TRIGGER search_escalation_update AFTER UPDATE OF target, reason, incident_id ON escalations
WHEN old.target IS NOT new.target OR old.reason IS NOT new.reason
    OR old.incident_id IS NOT new.incident_id BEGIN
    DELETE FROM search_pending WHERE doc = old.incident_id * 4294967296 + old.id * 16 + 6;
    DELETE FROM search_docs WHERE rowid = old.incident_id * 4294967296 + old.id * 16 + 6;
    INSERT OR REPLACE INTO search_pending (doc, body)
        VALUES (new.incident_id * 4294967296 + new.id * 16 + 6, new.target || char(10) || new.reason);
END;
CREATE TRIGGER search_escalation_delete AFTER DELETE ON escalations BEGIN
    DELETE FROM search_pending WHERE doc = old.incident_id * 4294967296 + old.id * 16 + 6;
    DELETE FROM search_docs WHERE rowid = old.incident_id * 4294967296 + old.id * 16 + 6;
END;

CREATE TRIGGER search_postmortem_insert AFTER INSERT ON postmortems BEGIN
    INSERT OR REPLACE INTO search_pending (doc, body)
        SELECT new.incident_id * 4294967296 + code, body FROM (
            SELECT 8 AS code, new.summary AS body UNION ALL SELECT 9, new.resolution
            UNION ALL SELECT 10, new.improvements UNION ALL SELECT 11, new.lessons_went_well
            UNION ALL SELECT 12, new.lessons_went_wrong UNION ALL SELECT 13, new.lessons_lucky
            UNION ALL SELECT 14, new.conclusion)
        WHERE body <> '';
END;
CREATE TRIGGER search_postmortem_update AFTER UPDATE OF summary, resolution, improvements,
    lessons_went_well, lessons_went_wrong, lessons_lucky, conclusion ON postmortems BEGIN
    DELETE FROM search_pending WHERE doc >= old.incident_id * 4294967296 + 8 AND doc <= old.incident_id * 4294967296 + 14;
    DELETE FROM search_docs WHERE rowid >= old.incident_id * 4294967296 + 8 AND rowid <= old.incident_id * 4294967296 + 14;
    INSERT OR REPLACE INTO search_pending (doc, body)
        SELECT new.incident_id * 4294967296 + code, body FROM (
            SELECT 8 AS code, new.summary AS body UNION ALL SELECT 9, new.resolution
            UNION ALL SELECT 10, new.improvements UNION ALL SELECT 11, new.lessons_went_well
            UNION ALL SELECT 12, new.lessons_went_wrong UNION ALL SELECT 13, new.lessons_lucky
            UNION ALL SELECT 14, new.conclusion)
        WHERE body <> '';
END;
CREATE TRIGGER search_postmortem_delete AFTER DELETE ON postmortems BEGIN
    DELETE FROM search_pending WHERE doc >= old.incident_id * 4294967296 + 8 AND doc <= old.incident_id * 4294967296 + 14;
    DELETE FROM search_docs WHERE rowid >= old.incident_id * 4294967296 + 8 AND rowid <= old.incident_id * 4294967296 + 14;
END;


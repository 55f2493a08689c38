DROP INDEX tasks_root_cause;
ALTER TABLE tasks DROP COLUMN root_cause_id;

DROP INDEX tasks_due_order;
CREATE INDEX tasks_due_on ON tasks (due_on, id);
CREATE INDEX tasks_status_due ON tasks (status, due_on);
ALTER TABLE tasks DROP COLUMN priority_rank;

-- The board and the dashboard walk tasks in due order (date, priority, age) and stop at
-- their page. With the priority's rank a column (computed by the database) one index
-- holds that whole order; before, the planner collected and sorted every task first
-- (37 ms at 100,000 tasks). Status rides along so that counting by status stays in the
-- index.
ALTER TABLE tasks ADD COLUMN priority_rank INTEGER GENERATED ALWAYS AS
    (CASE priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END) VIRTUAL;
DROP INDEX tasks_status_due;
DROP INDEX tasks_due_on;
CREATE INDEX tasks_due_order ON tasks (due_on, priority_rank, id, status);

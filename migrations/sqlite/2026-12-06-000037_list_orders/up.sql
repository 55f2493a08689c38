-- Orders the lists read a page of, so that a page is read off an index rather than sorted
-- from every match: recently resolved first (the dashboard, `sort=resolved`), and the
-- undated action items after the dated ones (the board and its CSV by due date).
CREATE INDEX incidents_resolved_order ON incidents ((resolved_at IS NULL), resolved_at DESC, id DESC);
CREATE INDEX tasks_undated_order ON tasks (priority_rank, id) WHERE due_on IS NULL;

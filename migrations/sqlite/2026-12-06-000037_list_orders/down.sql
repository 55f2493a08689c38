DROP INDEX tasks_undated_order;
DROP INDEX incidents_resolved_order;

-- A follow-up task can name the root cause it addresses: when the same kind of failure
-- comes back on the same service after all of them were done, both incidents say so.
ALTER TABLE tasks ADD COLUMN root_cause_id INTEGER REFERENCES root_causes (id) ON DELETE SET NULL;
CREATE INDEX tasks_root_cause ON tasks (root_cause_id) WHERE root_cause_id IS NOT NULL;

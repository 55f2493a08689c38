-- SQLite only (its FTS5 index flushes at every savepoint; see the SQLite migration).
-- PostgreSQL's index takes rows in the writing transaction as they come.
SELECT 1;

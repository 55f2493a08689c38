DROP TRIGGER incidents_search_update;
DROP TRIGGER incidents_search_delete;
DROP TRIGGER incidents_search_insert;
DROP TABLE incidents_search;

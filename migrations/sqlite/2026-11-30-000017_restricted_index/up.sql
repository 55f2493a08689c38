-- The few restricted incidents, found without reading the others (see access::visible_incidents).
CREATE INDEX incidents_restricted ON incidents (id) WHERE restricted;

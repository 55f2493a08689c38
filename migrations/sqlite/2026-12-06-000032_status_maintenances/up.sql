-- Scheduled maintenance on the status page: a window, the components it touches and its
-- public text. Its state (scheduled, in progress, completed) follows from its times.
CREATE TABLE status_maintenances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX status_maintenances_ends ON status_maintenances (ends_at);
CREATE TABLE status_maintenance_components (
    maintenance_id INTEGER NOT NULL REFERENCES status_maintenances (id) ON DELETE CASCADE,
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (maintenance_id, service_id)
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE setup_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    username TEXT NOT NULL,
    ip TEXT NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    succeeded BOOLEAN NOT NULL
);
CREATE INDEX login_attempts_username ON login_attempts (username, attempted_at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, attempted_at);

CREATE TABLE services (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    impact TEXT NOT NULL DEFAULT '',
    users_affected_pct DOUBLE,
    commander_id INTEGER REFERENCES users (id),
    started_at TIMESTAMP NOT NULL,
    detected_at TIMESTAMP,
    acknowledged_at TIMESTAMP,
    mitigated_at TIMESTAMP,
    resolved_at TIMESTAMP,
    created_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    alert_group_key TEXT UNIQUE,
    labels TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX incidents_started_at ON incidents (started_at, id);
CREATE INDEX incidents_status ON incidents (status, started_at);
CREATE INDEX incidents_severity ON incidents (severity, started_at);
CREATE INDEX incidents_resolved_at ON incidents (resolved_at);
CREATE INDEX incidents_commander_id ON incidents (commander_id);

CREATE TABLE incident_services (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (incident_id, service_id)
);
CREATE INDEX incident_services_service_id ON incident_services (service_id, incident_id);

CREATE TABLE timeline_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    occurred_at TIMESTAMP NOT NULL,
    time_known BOOLEAN NOT NULL DEFAULT TRUE,
    recorded_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    body_html TEXT NOT NULL,
    author_id INTEGER REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at TIMESTAMP,
    deleted_by INTEGER REFERENCES users (id),
    dedupe_key TEXT UNIQUE
);
CREATE INDEX timeline_entries_incident ON timeline_entries (incident_id, occurred_at, id);

CREATE TABLE timeline_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    entry_id INTEGER NOT NULL REFERENCES timeline_entries (id) ON DELETE CASCADE,
    occurred_at TIMESTAMP NOT NULL,
    time_known BOOLEAN NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    edited_by INTEGER REFERENCES users (id),
    edited_at TIMESTAMP NOT NULL
);
CREATE INDEX timeline_revisions_entry_id ON timeline_revisions (entry_id, id);

CREATE TABLE escalations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    escalated_at TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP,
    responded_at TIMESTAMP,
    responded_by INTEGER REFERENCES users (id),
    escalated_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX escalations_incident_id ON escalations (incident_id, escalated_at);
CREATE INDEX escalations_state ON escalations (state);

CREATE TABLE root_causes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    description_html TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX root_causes_incident_id ON root_causes (incident_id);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    priority TEXT NOT NULL,
    owner_id INTEGER REFERENCES users (id),
    team TEXT NOT NULL DEFAULT '',
    due_on DATE,
    status TEXT NOT NULL,
    external_url TEXT NOT NULL DEFAULT '',
    completed_at TIMESTAMP,
    created_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX tasks_incident_id ON tasks (incident_id);
CREATE INDEX tasks_status_due ON tasks (status, due_on);
CREATE INDEX tasks_owner ON tasks (owner_id, status);
CREATE INDEX tasks_team ON tasks (team, status);
CREATE INDEX tasks_due_on ON tasks (due_on, id);

CREATE TABLE postmortems (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    summary TEXT NOT NULL DEFAULT '',
    resolution TEXT NOT NULL DEFAULT '',
    improvements TEXT NOT NULL DEFAULT '',
    lessons_went_well TEXT NOT NULL DEFAULT '',
    lessons_went_wrong TEXT NOT NULL DEFAULT '',
    lessons_lucky TEXT NOT NULL DEFAULT '',
    conclusion TEXT NOT NULL DEFAULT '',
    review_state TEXT NOT NULL,
    published_at TIMESTAMP,
    published_by INTEGER REFERENCES users (id),
    author_id INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX postmortems_review_state ON postmortems (review_state);

CREATE TABLE postmortem_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES postmortems (incident_id) ON DELETE CASCADE,
    reviewer_id INTEGER NOT NULL REFERENCES users (id),
    state TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (incident_id, reviewer_id)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_id INTEGER REFERENCES users (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);

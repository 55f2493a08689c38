//! A new entry on PostgreSQL in one statement: the incident's row (revision, event number,
//! and the not-before-start check), the entry, its live event with the `NOTIFY`, and the
//! audit row, as data-modifying CTEs. The general path makes five round trips for these,
//! one after another on the one writer connection; at ~100 µs each they were what bounded
//! appends on PostgreSQL. SQLite has no round trips to save and keeps the general path.
//!
//! The statement does the same things in the same transaction as the general path, so the
//! two cannot disagree on the outcome; when it writes nothing (a time before the start, a
//! missing incident) the caller takes the general path, which says why.

use chrono::NaiveDateTime;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamp};

use super::{Entry, NewEntry};
use crate::audit::{Action, Actor};
use crate::ids::IncidentId;
use crate::incidents::IncidentKey;
use crate::live::log::{EventKind, CHANNEL};
use crate::markdown::Rendered;

const STATEMENT: &str = "\
WITH inc AS (
    UPDATE incidents
    SET updated_at = $1, timeline_rev = timeline_rev + 1, event_seq = event_seq + 1
    WHERE id = $2 AND ($3 OR started_at <= $4)
    RETURNING id, event_seq
), e AS (
    INSERT INTO timeline_entries (incident_id, occurred_at, time_known, recorded_at, kind,
        body, body_html, author_id, imported_author, updated_at, version)
    SELECT id, $4, $5, $1, $6, $7, $8, $9, $10, $1, 1 FROM inc
    RETURNING *
), ev AS (
    INSERT INTO incident_events (incident_id, seq, kind, subject_id, created_at)
    SELECT inc.id, inc.event_seq, $11, e.id, $1 FROM inc, e
    RETURNING incident_id
), audit AS (
    INSERT INTO audit_log (at, actor_id, actor, action, object_type, object_id, detail, ip)
    SELECT $1, $12, $13, $14, 'timeline_entry', e.id::text, $15, $16 FROM e
)
SELECT e.* FROM e, (SELECT pg_notify($17, incident_id::text) FROM ev) AS told";

/// Adds `new` (no dedupe key: those take the general path) and returns it, or `None` when
/// nothing was written and the general path must explain why.
pub fn add(
    pg: &mut PgConnection,
    incident_id: IncidentId,
    new: &NewEntry,
    text: &Rendered,
    actor: &Actor,
    at: NaiveDateTime,
) -> Result<Option<Entry>, diesel::result::Error> {
    let unchecked = new.before_start || !new.time_known;
    let detail = format!("{} {}", IncidentKey(incident_id), new.kind);
    diesel::sql_query(STATEMENT)
        .bind::<Timestamp, _>(at)
        .bind::<Integer, _>(incident_id)
        .bind::<Bool, _>(unchecked)
        .bind::<Timestamp, _>(new.occurred_at)
        .bind::<Bool, _>(new.time_known)
        .bind::<Text, _>(new.kind.as_str())
        .bind::<Text, _>(text.source())
        .bind::<Text, _>(text.html())
        .bind::<Nullable<Integer>, _>(new.author_id)
        .bind::<Nullable<Text>, _>(new.imported_author.as_deref())
        .bind::<Text, _>(EventKind::EntryAdded.as_str())
        .bind::<Nullable<Integer>, _>(actor.user_id)
        .bind::<Text, _>(&actor.name)
        .bind::<Text, _>(Action::TimelineAdd.as_str())
        .bind::<Text, _>(detail)
        .bind::<Text, _>(&actor.ip)
        .bind::<Text, _>(CHANNEL)
        .get_result::<Entry>(pg)
        .optional()
}

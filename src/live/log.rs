//! The event log behind live updates: one row per change to an incident, numbered by the
//! incident's own sequence. The number is taken with an `UPDATE … RETURNING` on the
//! incident's row, so two changes to one incident never share a number and commit in number
//! order (the second waits for the first's row lock); a stream that reconnects reads the rows
//! after the last number it saw, with no gap and no duplicate.
//!
//! Only the kind and the subject are stored: streams send the subject as it is when they
//! send it (see `live::data`), in the API's shapes.

use crate::ids::IncidentId;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

use crate::db::schema::{incident_events, incidents};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::time::now;

/// The PostgreSQL channel that tells every server an incident changed (payload: its id).
pub const CHANNEL: &str = "hindsight_live";

crate::text_enum!(
    /// What changed; the SSE `event:` name.
    EventKind {
        EntryAdded => "entry.added",
        EntryEdited => "entry.edited",
        EntryDeleted => "entry.deleted",
        IncidentUpdated => "incident.updated",
        EscalationUpdated => "escalation.updated",
        TaskUpdated => "task.updated",
        TaskDeleted => "task.deleted",
        RootCauseUpdated => "root_cause.updated",
        RootCauseDeleted => "root_cause.deleted",
    }
);

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = incident_events)]
pub struct Event {
    pub incident_id: IncidentId,
    pub seq: i32,
    pub kind: EventKind,
    pub subject_id: Option<i32>,
    pub created_at: NaiveDateTime,
}

/// Logs a change to `incident_id` in the caller's transaction, tells other servers on
/// commit (PostgreSQL `NOTIFY`), and this one once the write's group has committed.
pub fn record(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    kind: EventKind,
    subject_id: Option<i32>,
) -> Result<(), AppError> {
    let seq: i32 = diesel::update(incidents::table.find(incident_id))
        .set(incidents::event_seq.eq(incidents::event_seq + 1))
        .returning(incidents::event_seq)
        .get_result(conn)?;
    append(conn, incident_id, seq, kind, subject_id)
}

/// [`record`] for a caller that has already taken number `seq` (in an update of the
/// incident's row it makes anyway: one statement fewer per timeline entry).
pub fn append(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    seq: i32,
    kind: EventKind,
    subject_id: Option<i32>,
) -> Result<(), AppError> {
    let t = now();
    match conn {
        // One round trip: the row and the notification, delivered by PostgreSQL at commit.
        DbConnection::Postgres(pg) => {
            diesel::sql_query(
                "WITH e AS (INSERT INTO incident_events (incident_id, seq, kind, subject_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING incident_id) \
                 SELECT pg_notify('hindsight_live', incident_id::text) FROM e",
            )
            .bind::<Integer, _>(incident_id)
            .bind::<Integer, _>(seq)
            .bind::<Text, _>(kind.as_str())
            .bind::<Nullable<Integer>, _>(subject_id)
            .bind::<Timestamp, _>(t)
            .execute(pg)?;
        }
        DbConnection::Sqlite(_) => {
            diesel::insert_into(incident_events::table)
                .values((
                    incident_events::incident_id.eq(incident_id),
                    incident_events::seq.eq(seq),
                    incident_events::kind.eq(kind),
                    incident_events::subject_id.eq(subject_id),
                    incident_events::created_at.eq(t),
                ))
                .execute(conn)?;
        }
    }
    crate::db::changed(crate::db::Change::Incident(incident_id));
    Ok(())
}

/// Up to `limit` events of an incident after number `after`, in order.
pub fn since(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    after: i32,
    limit: i64,
) -> Result<Vec<Event>, AppError> {
    Ok(incident_events::table
        .filter(incident_events::incident_id.eq(incident_id))
        .filter(incident_events::seq.gt(after))
        .order(incident_events::seq.asc())
        .limit(limit)
        .select(Event::as_select())
        .load(conn)?)
}

/// The number of the incident's last event (404 naming the incident when there is none).
pub fn last_seq(conn: &mut DbConnection, incident_id: IncidentId) -> Result<i32, AppError> {
    incidents::table
        .find(incident_id)
        .select(incidents::event_seq)
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "incident {}",
                crate::incidents::IncidentKey(incident_id)
            ))
        })
}

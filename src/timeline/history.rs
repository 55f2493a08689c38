//! What the timeline keeps besides its live entries: earlier versions of edited entries and
//! deleted entries, with who deleted them and when.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Entry, EntryKind, EntryView};
use crate::db::schema::{timeline_entries, timeline_revisions, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::{EntryId, IncidentId, UserId};

/// How many of an incident's entries were deleted.
pub fn deleted_count(conn: &mut DbConnection, incident_id: IncidentId) -> Result<i64, AppError> {
    Ok(timeline_entries::table
        .filter(timeline_entries::incident_id.eq(incident_id))
        .filter(timeline_entries::deleted_at.is_not_null())
        .count()
        .get_result(conn)?)
}

/// A deleted entry: what it said, and when and by whom it was deleted.
pub struct DeletedEntry {
    pub view: EntryView,
    pub deleted_at: NaiveDateTime,
    pub deleted_by: Option<String>,
}

/// An incident's deleted entries (`only`: just that one), in timeline order.
pub fn deleted(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    only: Option<EntryId>,
) -> Result<Vec<DeletedEntry>, AppError> {
    let mut query = timeline_entries::table
        .left_join(users::table.on(timeline_entries::author_id.eq(users::id.nullable())))
        .filter(timeline_entries::incident_id.eq(incident_id))
        .filter(timeline_entries::deleted_at.is_not_null())
        .order((
            timeline_entries::occurred_at.asc(),
            timeline_entries::id.asc(),
        ))
        .select((
            Entry::as_select(),
            users::username.nullable(),
            timeline_entries::deleted_at,
            timeline_entries::deleted_by,
        ))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(timeline_entries::id.eq(id));
    }
    // (entry, author, deleted_at, deleted_by)
    type Row = (Entry, Option<String>, Option<NaiveDateTime>, Option<UserId>);
    let rows: Vec<Row> = query.load(conn)?;
    // Who deleted them: one query for all.
    let ids: Vec<UserId> = rows.iter().filter_map(|r| r.3).collect();
    let names = crate::auth::users::usernames(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(entry, author, at, by)| DeletedEntry {
            view: EntryView { entry, author },
            deleted_at: at.unwrap_or_default(),
            deleted_by: by.and_then(|id| names.get(&id).cloned()),
        })
        .collect())
}

/// An earlier state of an entry.
#[derive(Queryable, Clone, Debug)]
pub struct Revision {
    pub id: i32,
    pub occurred_at: NaiveDateTime,
    pub time_known: bool,
    pub kind: EntryKind,
    pub body: String,
    pub edited_at: NaiveDateTime,
    pub edited_by: Option<String>,
}

/// The revisions of an entry, newest first.
pub fn revisions(conn: &mut DbConnection, entry_id: EntryId) -> Result<Vec<Revision>, AppError> {
    Ok(timeline_revisions::table
        .left_join(users::table.on(timeline_revisions::edited_by.eq(users::id.nullable())))
        .filter(timeline_revisions::entry_id.eq(entry_id))
        .order(timeline_revisions::id.desc())
        .select((
            timeline_revisions::id,
            timeline_revisions::occurred_at,
            timeline_revisions::time_known,
            timeline_revisions::kind,
            timeline_revisions::body,
            timeline_revisions::edited_at,
            users::username.nullable(),
        ))
        .load(conn)?)
}

/// Revision counts per entry of an incident, for "edited" markers (one query).
pub fn revision_counts(
    conn: &mut DbConnection,
    incident_id: IncidentId,
) -> Result<std::collections::HashMap<i32, i64>, AppError> {
    use diesel::dsl::count_star;
    let rows: Vec<(i32, i64)> = timeline_revisions::table
        .inner_join(timeline_entries::table)
        .filter(timeline_entries::incident_id.eq(incident_id))
        .group_by(timeline_revisions::entry_id)
        .select((timeline_revisions::entry_id, count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

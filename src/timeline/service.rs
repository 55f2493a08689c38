//! Timeline rules: validation, adding, editing with revisions, soft deletion, listing.

use crate::ids::{EntryId, IncidentId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Entry, EntryKind, EntryView, NewEntry};
use crate::audit::{self, Actor};
use crate::db::schema::{incidents, timeline_entries, timeline_revisions, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::live::{self, log::EventKind};
use crate::markdown;
use crate::time::now;

/// The live entries of an incident joined to their authors, in timeline order (time, then
/// insertion order); each caller selects the columns it needs.
macro_rules! live_entries {
    ($incident_id:expr) => {
        timeline_entries::table
            .left_join(users::table.on(timeline_entries::author_id.eq(users::id.nullable())))
            .filter(timeline_entries::incident_id.eq($incident_id))
            .filter(timeline_entries::deleted_at.is_null())
            .order((
                timeline_entries::occurred_at.asc(),
                timeline_entries::id.asc(),
            ))
    };
}

pub const BODY_MAX: usize = 20_000;

fn validate_body(body: &str) -> Result<String, AppError> {
    let body = body.trim_end();
    if body.trim().is_empty() {
        return Err(AppError::invalid("body", "Write what happened."));
    }
    if body.chars().count() > BODY_MAX {
        return Err(AppError::invalid(
            "body",
            format!("An entry must be at most {BODY_MAX} characters."),
        ));
    }
    Ok(body.to_string())
}

pub fn parse_kind(raw: &str) -> Result<EntryKind, AppError> {
    raw.trim()
        .parse()
        .map_err(|e| AppError::invalid("kind", format!("Kind {e}.")))
}

/// A kind for an entry a person writes: the generated kinds are refused.
pub fn parse_written_kind(raw: &str) -> Result<EntryKind, AppError> {
    let kind = parse_kind(raw)?;
    if kind.is_generated() {
        return Err(AppError::invalid(
            "kind",
            format!(
                "{} entries are written by the record itself (change the status or the field instead).",
                kind.label()
            ),
        ));
    }
    Ok(kind)
}

fn ensure_incident(conn: &mut DbConnection, incident_id: IncidentId) -> Result<(), AppError> {
    let found: i64 = incidents::table
        .find(incident_id)
        .count()
        .get_result(conn)?;
    if found == 0 {
        return Err(AppError::NotFound(format!(
            "incident {}",
            IncidentKey(incident_id)
        )));
    }
    Ok(())
}

/// Marks the incident changed: `updated_at` for the page's polling fallback,
/// `timeline_rev` for the rendered-timeline cache (same transaction as the change, so never
/// stale), and logs the live event `kind` about entry `entry_id`.
fn touch_incident(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    kind: EventKind,
    entry_id: EntryId,
) -> Result<(), AppError> {
    let seq: Option<i32> = diesel::update(incidents::table.find(incident_id))
        .set((
            incidents::updated_at.eq(now()),
            incidents::timeline_rev.eq(incidents::timeline_rev + 1),
            incidents::event_seq.eq(incidents::event_seq + 1),
        ))
        .returning(incidents::event_seq)
        .get_result(conn)
        .optional()?;
    let Some(seq) = seq else {
        return Err(AppError::NotFound(format!(
            "incident {}",
            IncidentKey(incident_id)
        )));
    };
    live::log::append(conn, incident_id, seq, kind, Some(entry_id.0))
}

/// The incident's current timeline revision.
pub fn timeline_rev(conn: &mut DbConnection, incident_id: IncidentId) -> Result<i32, AppError> {
    Ok(incidents::table
        .find(incident_id)
        .select(incidents::timeline_rev)
        .first(conn)?)
}

/// An entry checked and its Markdown rendered (once, here), ready to store.
pub struct Prepared {
    new: NewEntry,
    text: markdown::Rendered,
}

/// An entry's text as written in an edit: checked and rendered, before any database work.
pub fn written_body(raw: &str) -> Result<markdown::Rendered, AppError> {
    Ok(markdown::Rendered::new(validate_body(raw)?))
}

/// Checks and renders an entry before any database work (so a queued write stays short).
pub fn prepare(new: NewEntry) -> Result<Prepared, AppError> {
    let text = written_body(&new.body)?;
    Ok(Prepared { new, text })
}

/// An entry as a record from elsewhere states it (an imported document), its Markdown
/// already rendered.
pub struct RecordedEntry {
    pub occurred_at: NaiveDateTime,
    pub time_known: bool,
    pub kind: EntryKind,
    pub body: String,
    pub body_html: String,
    pub author_id: Option<UserId>,
    pub imported_author: Option<String>,
    pub moment: super::KeyMoment,
}

/// Inserts recorded entries in bulk (multi-row statements: a 10,000-entry document stays
/// fast). No revision, no audit entry each: the caller records the import as a whole.
/// Each counts as recorded when it happened: the document is the record, written at a time
/// nobody knows, and the import's own time (in the audit log) would mark every entry
/// "logged late" on the page.
pub fn insert_many(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    entries: Vec<RecordedEntry>,
) -> Result<usize, AppError> {
    let t = now();
    let rows: Vec<_> = entries
        .into_iter()
        .map(|e| {
            (
                timeline_entries::incident_id.eq(incident_id),
                timeline_entries::occurred_at.eq(e.occurred_at),
                timeline_entries::time_known.eq(e.time_known),
                timeline_entries::recorded_at.eq(e.occurred_at),
                timeline_entries::kind.eq(e.kind),
                timeline_entries::body.eq(e.body),
                timeline_entries::body_html.eq(e.body_html),
                timeline_entries::author_id.eq(e.author_id),
                timeline_entries::imported_author.eq(e.imported_author),
                timeline_entries::starred.eq(e.moment.starred),
                timeline_entries::marker.eq(e.moment.marker),
                timeline_entries::updated_at.eq(t),
                timeline_entries::version.eq(1),
            )
        })
        .collect();
    Ok(crate::batch_insert!(
        &mut *conn,
        timeline_entries::table,
        rows
    ))
}

/// Refuses (422 on `occurred_at`) a written time before the incident started unless the
/// writer said it is meant, naming the date it would be: `05:30` typed at 04:47 is
/// yesterday 05:30, most likely a typo.
fn ensure_not_before_start(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(started) = incidents::table
        .find(incident_id)
        .select(incidents::started_at)
        .first::<NaiveDateTime>(conn)
        .optional()?
    else {
        return Ok(()); // the insert names the missing incident
    };
    if at >= started {
        return Ok(());
    }
    Err(AppError::invalid(
        "occurred_at",
        format!(
            "That is {}, {} before this incident started ({}). If it happened before the start, say so (tick \"before the start\"; API: \"before_start\": true).",
            crate::time::in_words(at),
            crate::time::human_duration(started - at),
            crate::time::in_words(started),
        ),
    ))
}

/// Adds an entry. With a `dedupe_key` already present, returns the existing entry instead.
pub fn add(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    new: NewEntry,
    actor: &Actor,
) -> Result<Entry, AppError> {
    store(conn, incident_id, prepare(new)?, actor)
}

/// Stores a prepared entry (see [`add`]).
pub fn store(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    prepared: Prepared,
    actor: &Actor,
) -> Result<Entry, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    let Prepared { new, text } = prepared;
    crate::db::transaction(conn, |conn| {
        if let (DbConnection::Postgres(pg), None) = (&mut *conn, &new.dedupe_key) {
            if let Some(entry) = super::append_pg::add(pg, incident_id, &new, &text, actor, now())?
            {
                crate::db::changed(crate::db::Change::Incident(incident_id));
                return Ok(entry);
            }
            // Nothing written: the general path below says why.
        }
        if !new.before_start && new.time_known {
            ensure_not_before_start(conn, incident_id, new.occurred_at)?;
        }
        if let Some(key) = &new.dedupe_key {
            ensure_incident(conn, incident_id)?;
            // Scoped to the incident: the same key elsewhere is another incident's entry.
            let existing = timeline_entries::table
                .filter(timeline_entries::incident_id.eq(incident_id))
                .filter(timeline_entries::dedupe_key.eq(key))
                .select(Entry::as_select())
                .first(conn)
                .optional()?;
            if let Some(existing) = existing {
                return Ok(existing);
            }
        }
        let t = now();
        let entry: Entry = diesel::insert_into(timeline_entries::table)
            .values((
                timeline_entries::incident_id.eq(incident_id),
                timeline_entries::occurred_at.eq(new.occurred_at),
                timeline_entries::time_known.eq(new.time_known),
                timeline_entries::recorded_at.eq(t),
                timeline_entries::kind.eq(new.kind),
                timeline_entries::body.eq(text.source()),
                timeline_entries::body_html.eq(text.html()),
                timeline_entries::author_id.eq(new.author_id),
                timeline_entries::imported_author.eq(new.imported_author.as_deref()),
                timeline_entries::updated_at.eq(t),
                timeline_entries::version.eq(1),
                timeline_entries::dedupe_key.eq(new.dedupe_key.as_deref()),
            ))
            .returning(timeline_entries::all_columns)
            .get_result(conn)
            // The foreign key refuses an entry for an incident that does not exist.
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                    _,
                ) => AppError::NotFound(format!("incident {}", IncidentKey(incident_id))),
                // Dedupe keys are unique across incidents (producers put the incident in
                // them, as alert intake does): a key of another incident is a conflict,
                // never that incident's entry handed back as this one's.
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => AppError::Conflict(
                    "This delivery's key belongs to another incident's entry.".into(),
                ),
                other => other.into(),
            })?;
        touch_incident(conn, incident_id, EventKind::EntryAdded, entry.id)?;
        audit::record(
            conn,
            actor,
            audit::Action::TimelineAdd,
            "timeline_entry",
            &entry.id.to_string(),
            &format!("{} {}", IncidentKey(incident_id), entry.kind),
        )?;
        Ok(entry)
    })
}

/// The live entries of an incident in timeline order (time, then insertion order), with
/// authors, in one query.
pub fn list(conn: &mut DbConnection, incident_id: IncidentId) -> Result<Vec<EntryView>, AppError> {
    let rows: Vec<(Entry, Option<String>)> = live_entries!(incident_id)
        .select((Entry::as_select(), users::username.nullable()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(entry, author)| EntryView { entry, author })
        .collect())
}

/// What the incident page shows of an entry: no Markdown source and no bookkeeping columns
/// (each timestamp costs a text parse on SQLite, and the page has a thousand of them).
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = timeline_entries)]
pub struct PageEntry {
    pub id: i32,
    pub occurred_at: NaiveDateTime,
    pub time_known: bool,
    pub recorded_at: NaiveDateTime,
    pub kind: EntryKind,
    pub body_html: String,
    pub imported_author: Option<String>,
    pub starred: bool,
    pub marker: Option<super::Marker>,
}

/// The live entries of an incident for its page, in timeline order, with authors.
pub fn list_for_page(
    conn: &mut DbConnection,
    incident_id: IncidentId,
) -> Result<Vec<(PageEntry, Option<String>)>, AppError> {
    Ok(live_entries!(incident_id)
        .select((PageEntry::as_select(), users::username.nullable()))
        .load(conn)?)
}

/// What the Markdown document needs of an entry: no HTML and no bookkeeping columns (loading
/// whole rows took two thirds of a 10,000-entry export, most of it parsing timestamps it
/// did not use).
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = timeline_entries)]
pub struct DocEntry {
    pub occurred_at: NaiveDateTime,
    pub time_known: bool,
    pub kind: EntryKind,
    pub body: String,
    pub imported_author: Option<String>,
    pub starred: bool,
    pub marker: Option<super::Marker>,
}

impl DocEntry {
    pub fn moment(&self) -> super::KeyMoment {
        super::KeyMoment {
            starred: self.starred,
            marker: self.marker,
        }
    }
}

/// A [`DocEntry`] with its author's username.
#[derive(Clone, Debug)]
pub struct DocEntryView {
    pub entry: DocEntry,
    pub author: Option<String>,
}

/// The live entries of an incident for its document, in timeline order, in one query.
pub fn list_for_document(
    conn: &mut DbConnection,
    incident_id: IncidentId,
) -> Result<Vec<DocEntryView>, AppError> {
    let rows: Vec<(DocEntry, Option<String>)> = live_entries!(incident_id)
        .select((DocEntry::as_select(), users::username.nullable()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(entry, author)| DocEntryView { entry, author })
        .collect())
}

/// One live entry of an incident.
pub fn get(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    entry_id: EntryId,
) -> Result<EntryView, AppError> {
    let found: Option<(Entry, Option<String>)> = timeline_entries::table
        .left_join(users::table.on(timeline_entries::author_id.eq(users::id.nullable())))
        .filter(timeline_entries::id.eq(entry_id))
        .filter(timeline_entries::incident_id.eq(incident_id))
        .filter(timeline_entries::deleted_at.is_null())
        .select((Entry::as_select(), users::username.nullable()))
        .first(conn)
        .optional()?;
    found
        .map(|(entry, author)| EntryView { entry, author })
        .ok_or_else(|| AppError::NotFound(format!("timeline entry {entry_id}")))
}

/// What an edit may change; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct EntryChanges {
    pub occurred_at: Option<NaiveDateTime>,
    pub time_known: Option<bool>,
    pub kind: Option<EntryKind>,
    /// Checked and rendered by [`written_body`] before the write.
    pub body: Option<markdown::Rendered>,
    /// When given, the edit applies only at this version (else 409).
    pub expected_version: Option<i32>,
}

/// Edits an entry, keeping its previous state as a revision.
pub fn edit(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    entry_id: EntryId,
    changes: EntryChanges,
    actor: &Actor,
) -> Result<Entry, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    crate::db::transaction(conn, |conn| {
        let old = get(conn, incident_id, entry_id)?.entry;
        if let Some(expected) = changes.expected_version {
            if expected != old.version {
                return Err(AppError::Conflict(format!(
                    "This entry was edited by someone else (you edited version {expected}, it is now at version {}). Reload and apply your change again.",
                    old.version
                )));
            }
        }
        if let Some(kind) = changes.kind.filter(|k| *k != old.kind) {
            if kind.is_generated() || old.kind.is_generated() {
                return Err(AppError::invalid(
                    "kind",
                    format!(
                        "{} entries are written by the record itself; an entry cannot become or stop being one.",
                        if kind.is_generated() { kind.label() } else { old.kind.label() }
                    ),
                ));
            }
        }
        let (new_body, html) = match &changes.body {
            Some(b) => (b.source(), b.html()),
            None => (old.body.as_str(), old.body_html.as_str()),
        };
        diesel::insert_into(timeline_revisions::table)
            .values((
                timeline_revisions::entry_id.eq(old.id),
                timeline_revisions::occurred_at.eq(old.occurred_at),
                timeline_revisions::time_known.eq(old.time_known),
                timeline_revisions::kind.eq(old.kind),
                timeline_revisions::body.eq(&old.body),
                timeline_revisions::edited_by.eq(actor.user_id),
                timeline_revisions::edited_at.eq(now()),
            ))
            .execute(conn)?;
        let updated = diesel::update(
            timeline_entries::table
                .find(entry_id)
                .filter(timeline_entries::version.eq(old.version)),
        )
        .set((
            timeline_entries::occurred_at.eq(changes.occurred_at.unwrap_or(old.occurred_at)),
            timeline_entries::time_known.eq(changes.time_known.unwrap_or(old.time_known)),
            timeline_entries::kind.eq(changes.kind.unwrap_or(old.kind)),
            timeline_entries::body.eq(new_body),
            timeline_entries::body_html.eq(html),
            timeline_entries::updated_at.eq(now()),
            timeline_entries::version.eq(old.version + 1),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(AppError::Conflict(
                "This entry was edited by someone else. Reload and try again.".into(),
            ));
        }
        touch_incident(conn, incident_id, EventKind::EntryEdited, entry_id)?;
        audit::record(
            conn,
            actor,
            audit::Action::TimelineEdit,
            "timeline_entry",
            &entry_id.to_string(),
            &IncidentKey(incident_id).to_string(),
        )?;
        Ok(get(conn, incident_id, entry_id)?.entry)
    })
}

/// A change of an entry's key-moment flags; `None` leaves one as it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct MomentChange {
    pub starred: Option<bool>,
    pub marker: Option<Option<super::Marker>>,
}

impl MomentChange {
    pub fn is_empty(&self) -> bool {
        self.starred.is_none() && self.marker.is_none()
    }
}

/// Stars or marks an entry. Not an edit of what it says: no revision and no version
/// change, so a star never conflicts with someone editing the text; the page and live
/// readers hear of it as an edit.
pub fn mark(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    entry_id: EntryId,
    change: MomentChange,
    actor: &Actor,
) -> Result<(), AppError> {
    actor.require(crate::auth::Permission::Write)?;
    crate::db::transaction(conn, |conn| {
        let old = get(conn, incident_id, entry_id)?.entry;
        let starred = change.starred.unwrap_or(old.starred);
        let marker = change.marker.unwrap_or(old.marker);
        if (starred, marker) == (old.starred, old.marker) {
            return Ok(());
        }
        diesel::update(timeline_entries::table.find(entry_id))
            .set((
                timeline_entries::starred.eq(starred),
                timeline_entries::marker.eq(marker),
            ))
            .execute(conn)?;
        touch_incident(conn, incident_id, EventKind::EntryEdited, entry_id)?;
        let detail = format!(
            "{} starred={starred} marker={}",
            IncidentKey(incident_id),
            marker.map_or("none", |m| m.as_str())
        );
        audit::record(
            conn,
            actor,
            audit::Action::TimelineMark,
            "timeline_entry",
            &entry_id.to_string(),
            &detail,
        )
    })
}

/// Soft-deletes an entry (kept, hidden, audited).
pub fn delete(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    entry_id: EntryId,
    actor: &Actor,
) -> Result<(), AppError> {
    actor.require(crate::auth::Permission::Write)?;
    crate::db::transaction(conn, |conn| {
        let entry = get(conn, incident_id, entry_id)?.entry;
        diesel::update(timeline_entries::table.find(entry.id))
            .set((
                timeline_entries::deleted_at.eq(Some(now())),
                timeline_entries::deleted_by.eq(actor.user_id),
                timeline_entries::version.eq(entry.version + 1),
            ))
            .execute(conn)?;
        touch_incident(conn, incident_id, EventKind::EntryDeleted, entry.id)?;
        let detail = format!(
            "{} {}: {}",
            IncidentKey(incident_id),
            entry.kind,
            entry.body.chars().take(200).collect::<String>()
        );
        audit::record(
            conn,
            actor,
            audit::Action::TimelineDelete,
            "timeline_entry",
            &entry_id.to_string(),
            &detail,
        )
    })
}

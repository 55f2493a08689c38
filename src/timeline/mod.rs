//! The incident timeline: what happened and when, entries with revisions and soft deletion.

pub mod api;
mod append_pg;
pub mod history;
pub mod json;
pub mod rendered;
pub mod service;
pub mod web;

use crate::ids::{EntryId, IncidentId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::timeline_entries;
use crate::time::now;

crate::text_enum!(
    /// What an entry records.
    EntryKind {
        Detection => "detection",
        Action => "action",
        Investigation => "investigation",
        Misleading => "misleading",
        Escalation => "escalation",
        Communication => "communication",
        Mitigation => "mitigation",
        Resolution => "resolution",
        StatusChange => "status_change",
        Reopened => "reopened",
        Change => "change",
        Note => "note",
    }
);

crate::text_enum!(
    /// The moment an entry marks, beside its kind: when the problem was seen, understood,
    /// fixed. With stars they make the postmortem's key moments.
    Marker {
        Detection => "detection",
        Diagnosis => "diagnosis",
        Repair => "repair",
    }
);

/// Whether an entry is a key moment: starred, and the moment it marks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyMoment {
    pub starred: bool,
    pub marker: Option<Marker>,
}

impl KeyMoment {
    /// What an exported entry's label adds: " ★", " (diagnosis)", both, or nothing.
    pub fn label_suffix(self) -> String {
        let star = if self.starred { " ★" } else { "" };
        match self.marker {
            Some(m) => format!("{star} ({})", m.as_str()),
            None => star.to_string(),
        }
    }

    pub fn is_key(self) -> bool {
        self.starred || self.marker.is_some()
    }
}

impl EntryKind {
    /// The kind's one label, on pages and in exported documents alike.
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Detection => "Detection",
            EntryKind::Action => "Action",
            EntryKind::Investigation => "Investigation",
            EntryKind::Misleading => "Dead end",
            EntryKind::Escalation => "Escalation",
            EntryKind::Communication => "Communication",
            EntryKind::Mitigation => "Mitigation",
            EntryKind::Resolution => "Resolution",
            EntryKind::StatusChange => "Status change",
            EntryKind::Reopened => "Reopened",
            EntryKind::Change => "Change",
            EntryKind::Note => "Note",
        }
    }

    /// Kinds only the record itself writes (a status change, a reopening, a field change):
    /// a person cannot write one by hand, so that such an entry always means it happened.
    pub fn is_generated(self) -> bool {
        matches!(
            self,
            EntryKind::StatusChange | EntryKind::Reopened | EntryKind::Change
        )
    }

    /// Kinds a person picks in the quick-add form (status changes, reopenings and field
    /// changes come from the edits themselves; an escalation from the Escalate form, which
    /// also makes the escalation record the card and the answers need).
    pub const PICKABLE: &'static [EntryKind] = &[
        EntryKind::Action,
        EntryKind::Note,
        EntryKind::Investigation,
        EntryKind::Detection,
        EntryKind::Misleading,
        EntryKind::Communication,
        EntryKind::Mitigation,
        EntryKind::Resolution,
    ];
}

#[derive(Queryable, QueryableByName, Selectable, Clone, Debug)]
#[diesel(table_name = timeline_entries)]
pub struct Entry {
    pub id: EntryId,
    pub incident_id: IncidentId,
    pub occurred_at: NaiveDateTime,
    pub time_known: bool,
    pub recorded_at: NaiveDateTime,
    pub kind: EntryKind,
    pub body: String,
    pub body_html: String,
    pub author_id: Option<UserId>,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    pub deleted_at: Option<NaiveDateTime>,
    pub deleted_by: Option<UserId>,
    pub dedupe_key: Option<String>,
    /// The author an imported document named (text, not an account).
    pub imported_author: Option<String>,
    /// A key moment (shown with a star; the postmortem can show only these).
    pub starred: bool,
    pub marker: Option<Marker>,
}

/// A new entry before validation.
#[derive(Clone, Debug)]
pub struct NewEntry {
    pub occurred_at: NaiveDateTime,
    pub time_known: bool,
    pub kind: EntryKind,
    pub body: String,
    pub author_id: Option<UserId>,
    /// Makes repeated deliveries (alert webhooks) idempotent.
    pub dedupe_key: Option<String>,
    /// A time before the incident's start is meant (context before it is legitimate, but
    /// an `HH:MM` that rolled back a day usually is a typo): written entries must say so;
    /// generated ones ([`NewEntry::now`]) take the times the record gives them.
    pub before_start: bool,
    /// An author who is not an account here (a chat message's), shown as text.
    pub imported_author: Option<String>,
}

impl NewEntry {
    pub fn now(kind: EntryKind, body: String, author_id: Option<UserId>) -> Self {
        NewEntry {
            occurred_at: now(),
            time_known: true,
            kind,
            body,
            author_id,
            dedupe_key: None,
            before_start: true,
            imported_author: None,
        }
    }

    /// An entry a person wrote, at `occurred_at` (checked against the incident's start).
    pub fn written(
        occurred_at: NaiveDateTime,
        kind: EntryKind,
        body: String,
        author_id: Option<UserId>,
        before_start: bool,
    ) -> Self {
        NewEntry {
            occurred_at,
            before_start,
            ..NewEntry::now(kind, body, author_id)
        }
    }
}

/// An entry with its author's username, ready to show or serialize.
#[derive(Clone, Debug)]
pub struct EntryView {
    pub entry: Entry,
    pub author: Option<String>,
}

/// Who wrote an entry, as pages show it: the local user, the name an imported document
/// gave (marked as imported), or the system.
pub fn author_label(author: Option<String>, imported: Option<&str>) -> String {
    match (author, imported) {
        (Some(name), _) => name,
        (None, Some(name)) => format!("{name} (imported)"),
        (None, None) => "system".into(),
    }
}

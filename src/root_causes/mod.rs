//! Root causes: primary and contributing, each with a category and a Markdown description.
//! Several per incident; edits and deletions are audited; only admins delete.

pub mod api;
pub mod web;

use crate::ids::{IncidentId, RootCauseId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::db::schema::root_causes;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::live::log::{record as live_event, EventKind};
use crate::markdown;
use crate::time::now;

crate::text_enum!(
    /// Whether a cause is the main one, contributed, or set the failure off (the trigger:
    /// a deploy, a config push, as the SRE layout asks).
    CauseKind {
        Primary => "primary",
        Contributing => "contributing",
        Trigger => "trigger",
    }
);

crate::text_enum!(
    /// What kind of cause it was.
    CauseCategory {
        Change => "change",
        Configuration => "configuration",
        Software => "software",
        Capacity => "capacity",
        Dependency => "dependency",
        Hardware => "hardware",
        Process => "process",
        Unknown => "unknown",
    }
);

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = root_causes)]
pub struct RootCause {
    pub id: RootCauseId,
    pub incident_id: IncidentId,
    pub kind: CauseKind,
    pub category: CauseCategory,
    pub description: String,
    pub description_html: String,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub const DESCRIPTION_MAX: usize = 20_000;

/// A validated cause.
#[derive(Clone, Debug)]
pub struct CauseFields {
    pub kind: CauseKind,
    pub category: CauseCategory,
    pub description: String,
}

impl CauseFields {
    pub fn parse(kind: &str, category: &str, description: &str) -> Result<Self, AppError> {
        Ok(CauseFields {
            kind: parse_kind(kind)?,
            category: parse_category(category)?,
            description: parse_description(description)?,
        })
    }

    /// With its description rendered, ready to store.
    pub fn rendered(self) -> NewCause {
        NewCause {
            kind: self.kind,
            category: self.category,
            description: markdown::Rendered::new(self.description),
        }
    }
}

/// A cause to store: validated, its description rendered.
#[derive(Clone, Debug)]
pub struct NewCause {
    pub kind: CauseKind,
    pub category: CauseCategory,
    pub description: markdown::Rendered,
}

/// What an edit changes; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct CauseChanges {
    pub kind: Option<CauseKind>,
    pub category: Option<CauseCategory>,
    pub description: Option<markdown::Rendered>,
}

impl CauseChanges {
    /// Every field, as a form sends them.
    pub fn all(c: NewCause) -> Self {
        CauseChanges {
            kind: Some(c.kind),
            category: Some(c.category),
            description: Some(c.description),
        }
    }
}

pub fn parse_kind(raw: &str) -> Result<CauseKind, AppError> {
    raw.trim()
        .parse()
        .map_err(|e| AppError::invalid("kind", format!("Kind {e}.")))
}

pub fn parse_category(raw: &str) -> Result<CauseCategory, AppError> {
    raw.trim()
        .parse()
        .map_err(|e| AppError::invalid("category", format!("Category {e}.")))
}

pub fn parse_description(raw: &str) -> Result<String, AppError> {
    let description = raw.trim_end().to_string();
    if description.trim().is_empty() {
        return Err(AppError::invalid("description", "Describe the cause."));
    }
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(AppError::invalid(
            "description",
            format!("A description must be at most {DESCRIPTION_MAX} characters."),
        ));
    }
    Ok(description)
}

pub fn create(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    f: &NewCause,
    actor: &Actor,
) -> Result<RootCause, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    crate::db::transaction(conn, |conn| {
        crate::incidents::service::get(conn, incident_id)?;
        let t = now();
        let cause: RootCause = diesel::insert_into(root_causes::table)
            .values((
                root_causes::incident_id.eq(incident_id),
                root_causes::kind.eq(f.kind),
                root_causes::category.eq(f.category),
                root_causes::description.eq(f.description.source()),
                root_causes::description_html.eq(f.description.html()),
                root_causes::created_by.eq(actor.user_id),
                root_causes::created_at.eq(t),
                root_causes::updated_at.eq(t),
            ))
            .returning(root_causes::all_columns)
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            audit::Action::RootCauseCreate,
            "root_cause",
            &cause.id.to_string(),
            &format!("{} {} {}", IncidentKey(incident_id), f.kind, f.category),
        )?;
        live_event(
            conn,
            incident_id,
            EventKind::RootCauseUpdated,
            Some(cause.id.0),
        )?;
        Ok(cause)
    })
}

/// An incident's causes, primary first, then in the order they were recorded.
pub fn list(conn: &mut DbConnection, incident_id: IncidentId) -> Result<Vec<RootCause>, AppError> {
    let mut all: Vec<RootCause> = root_causes::table
        .filter(root_causes::incident_id.eq(incident_id))
        .order(root_causes::id.asc())
        .select(RootCause::as_select())
        .load(conn)?;
    all.sort_by_key(|c| c.kind);
    Ok(all)
}

pub fn get(conn: &mut DbConnection, id: RootCauseId) -> Result<RootCause, AppError> {
    root_causes::table
        .find(id)
        .select(RootCause::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("root cause {id}")))
}

pub fn update(
    conn: &mut DbConnection,
    id: RootCauseId,
    changes: &CauseChanges,
    actor: &Actor,
) -> Result<RootCause, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    crate::db::transaction(conn, |conn| {
        let old = get(conn, id)?;
        let (source, html) = match &changes.description {
            Some(d) => (d.source(), d.html()),
            None => (old.description.as_str(), old.description_html.as_str()),
        };
        diesel::update(root_causes::table.find(id))
            .set((
                root_causes::kind.eq(changes.kind.unwrap_or(old.kind)),
                root_causes::category.eq(changes.category.unwrap_or(old.category)),
                root_causes::description.eq(source),
                root_causes::description_html.eq(html),
                root_causes::updated_at.eq(now()),
            ))
            .execute(conn)?;
        // The old text goes to the audit log, so an edit never loses what was written.
        let detail = format!(
            "{} was: {} {}: {}",
            IncidentKey(old.incident_id),
            old.kind,
            old.category,
            old.description
        );
        audit::record(
            conn,
            actor,
            audit::Action::RootCauseUpdate,
            "root_cause",
            &id.to_string(),
            &detail,
        )?;
        live_event(
            conn,
            old.incident_id,
            EventKind::RootCauseUpdated,
            Some(id.0),
        )?;
        get(conn, id)
    })
}

pub fn delete(
    conn: &mut DbConnection,
    id: RootCauseId,
    actor: &Actor,
) -> Result<RootCause, AppError> {
    actor.require(crate::auth::Permission::Delete)?;
    crate::db::transaction(conn, |conn| {
        let old = get(conn, id)?;
        diesel::delete(root_causes::table.find(id)).execute(conn)?;
        let detail = format!(
            "{} {} {}: {}",
            IncidentKey(old.incident_id),
            old.kind,
            old.category,
            old.description
        );
        audit::record(
            conn,
            actor,
            audit::Action::RootCauseDelete,
            "root_cause",
            &id.to_string(),
            &detail,
        )?;
        live_event(
            conn,
            old.incident_id,
            EventKind::RootCauseDeleted,
            Some(id.0),
        )?;
        Ok(old)
    })
}

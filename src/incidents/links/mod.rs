//! Links between incidents: "related", "caused by", "duplicate of". A link is made from one
//! incident and shown on both, with a timeline entry on each. Linking as a duplicate closes
//! the duplicate (pending escalations cancelled: the other incident carries the work) and
//! leaves it out of insights; unlinking never reopens it.
//!
//! A reader sees a link only when they may see the incident on its other end, and an entry
//! on an incident names a restricted incident only as "a restricted incident".

pub mod api;
pub mod web;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::service::{self, IncidentFields};
use super::{IncidentKey, Status, StatusChange};
use crate::access::{can_see, Hidden, Reader, Seen};
use crate::audit::{self, Actor};
use crate::db::schema::{incident_links, incidents};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::{IncidentId, LinkId, UserId};
use crate::time::now;
use crate::timeline::{EntryKind, NewEntry};

crate::text_enum!(
    /// How the incident that makes a link relates to the other.
    LinkKind {
        Related => "related",
        CausedBy => "caused_by",
        DuplicateOf => "duplicate_of",
    }
);

impl LinkKind {
    /// From the incident that made the link: "related to INC-3", "caused by INC-3".
    pub fn outgoing(self) -> &'static str {
        match self {
            LinkKind::Related => "related to",
            LinkKind::CausedBy => "caused by",
            LinkKind::DuplicateOf => "a duplicate of",
        }
    }

    /// From the other end: "related to INC-2", "caused INC-2", "duplicated by INC-2".
    pub fn incoming(self) -> &'static str {
        match self {
            LinkKind::Related => "related to",
            LinkKind::CausedBy => "the cause of",
            LinkKind::DuplicateOf => "duplicated by",
        }
    }

    pub fn parse_field(raw: &str) -> Result<LinkKind, AppError> {
        raw.trim().parse().map_err(|_| {
            AppError::invalid("kind", "kind must be related, caused_by or duplicate_of.")
        })
    }
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = incident_links)]
pub struct Link {
    pub id: LinkId,
    pub incident_id: IncidentId,
    pub other_id: IncidentId,
    pub kind: LinkKind,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
}

/// A link as one incident shows it: the incident on the other end and which way it points.
#[derive(Clone, Debug)]
pub struct LinkView {
    pub id: LinkId,
    pub kind: LinkKind,
    /// The link was made from this incident (it may be removed here).
    pub outgoing: bool,
    pub other: IncidentKey,
    pub other_title: String,
    pub other_status: Status,
}

impl LinkView {
    /// "a duplicate of", "the cause of", …, as this incident reads it.
    pub fn words(&self) -> &'static str {
        if self.outgoing {
            self.kind.outgoing()
        } else {
            self.kind.incoming()
        }
    }
}

/// How an entry on one incident names the other: its key, or "a restricted incident".
fn named(conn: &mut DbConnection, id: IncidentId) -> Result<String, AppError> {
    let restricted: bool = incidents::table
        .find(id)
        .select(incidents::restricted)
        .first(conn)?;
    Ok(if restricted {
        "a restricted incident".to_string()
    } else {
        IncidentKey(id).to_string()
    })
}

fn entry(
    conn: &mut DbConnection,
    id: IncidentId,
    text: String,
    actor: &Actor,
) -> Result<(), AppError> {
    let e = NewEntry::now(
        EntryKind::Change,
        crate::markdown::escape(&text),
        actor.user_id,
    );
    crate::timeline::service::add(conn, id, e, actor)?;
    Ok(())
}

/// Links `from` to `other` (which `reader` must be able to see: otherwise the same 422 as
/// for a missing one).
pub fn create(
    conn: &mut DbConnection,
    from: IncidentId,
    other: IncidentId,
    kind: LinkKind,
    reader: Reader,
    actor: &Actor,
) -> Result<Link, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    crate::db::transaction(conn, |conn| {
        if matches!(can_see(conn, reader, other)?, Seen::No) {
            return Err(AppError::invalid(
                "other",
                format!("There is no incident {}.", IncidentKey(other)),
            ));
        }
        if other == from {
            return Err(AppError::invalid(
                "other",
                "An incident cannot be linked to itself.",
            ));
        }
        let existing: i64 = incident_links::table
            .filter(
                (incident_links::incident_id
                    .eq(from)
                    .and(incident_links::other_id.eq(other)))
                .or(incident_links::incident_id
                    .eq(other)
                    .and(incident_links::other_id.eq(from))),
            )
            .count()
            .get_result(conn)?;
        if existing > 0 {
            return Err(AppError::invalid(
                "other",
                format!(
                    "{} and {} are linked already; remove that link first.",
                    IncidentKey(from),
                    IncidentKey(other)
                ),
            ));
        }
        if kind == LinkKind::DuplicateOf {
            let others_original: Option<IncidentId> = incidents::table
                .find(other)
                .select(incidents::duplicate_of)
                .first(conn)?;
            if others_original.is_some() {
                return Err(AppError::invalid(
                    "other",
                    format!(
                        "{} is itself a duplicate: link to the incident it duplicates.",
                        IncidentKey(other)
                    ),
                ));
            }
        }
        let id: LinkId = diesel::insert_into(incident_links::table)
            .values((
                incident_links::incident_id.eq(from),
                incident_links::other_id.eq(other),
                incident_links::kind.eq(kind),
                incident_links::created_by.eq(actor.user_id),
                incident_links::created_at.eq(now()),
            ))
            .returning(incident_links::id)
            .get_result(conn)?;
        let link: Link = incident_links::table
            .find(id)
            .select(Link::as_select())
            .first(conn)?;
        let (this_name, other_name) = (named(conn, from)?, named(conn, other)?);
        entry(
            conn,
            from,
            format!("Linked as {} {other_name}.", kind.outgoing()),
            actor,
        )?;
        entry(
            conn,
            other,
            format!("Linked as {} {this_name}.", kind.incoming()),
            actor,
        )?;
        if kind == LinkKind::DuplicateOf {
            close_as_duplicate(conn, from, other, actor)?;
        }
        audit::record(
            conn,
            actor,
            audit::Action::IncidentLink,
            "incident",
            &IncidentKey(from).to_string(),
            &format!("{} {}", kind.as_str(), IncidentKey(other)),
        )?;
        Ok(link)
    })
}

/// Marks `id` a duplicate of `original` and closes it if it is open.
fn close_as_duplicate(
    conn: &mut DbConnection,
    id: IncidentId,
    original: IncidentId,
    actor: &Actor,
) -> Result<(), AppError> {
    diesel::update(incidents::table.find(id))
        .set(incidents::duplicate_of.eq(Some(original)))
        .execute(conn)?;
    let current = service::get(conn, id)?;
    if !current.incident.status.is_open() {
        return Ok(());
    }
    let mut fields = IncidentFields::of(&current);
    fields.status = Status::Closed;
    let change = StatusChange {
        at: None,
        cancel_pending_escalations: true,
    };
    service::update(conn, id, current.incident.version, fields, &change, actor)?;
    Ok(())
}

/// Removes a link made from `from` (a duplicate stays closed, no longer a duplicate).
pub fn delete(
    conn: &mut DbConnection,
    from: IncidentId,
    id: LinkId,
    actor: &Actor,
) -> Result<(), AppError> {
    actor.require(crate::auth::Permission::Write)?;
    crate::db::transaction(conn, |conn| {
        let link: Link = incident_links::table
            .find(id)
            .filter(incident_links::incident_id.eq(from))
            .select(Link::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::NotFound(format!("link {id}")))?;
        diesel::delete(incident_links::table.find(id)).execute(conn)?;
        if link.kind == LinkKind::DuplicateOf {
            diesel::update(incidents::table.find(from))
                .set(incidents::duplicate_of.eq(None::<IncidentId>))
                .execute(conn)?;
        }
        let (this_name, other_name) = (named(conn, from)?, named(conn, link.other_id)?);
        entry(
            conn,
            from,
            format!("Unlinked: no longer {} {other_name}.", link.kind.outgoing()),
            actor,
        )?;
        entry(
            conn,
            link.other_id,
            format!("Unlinked: no longer {} {this_name}.", link.kind.incoming()),
            actor,
        )?;
        audit::record(
            conn,
            actor,
            audit::Action::IncidentUnlink,
            "incident",
            &IncidentKey(from).to_string(),
            &format!("{} {}", link.kind.as_str(), IncidentKey(link.other_id)),
        )
    })
}

/// The links of incident `id` both ways, without those whose other end is `hidden` from the
/// reader, newest first.
pub fn list(
    conn: &mut DbConnection,
    id: IncidentId,
    hidden: &Hidden,
) -> Result<Vec<LinkView>, AppError> {
    let rows: Vec<Link> = incident_links::table
        .filter(
            incident_links::incident_id
                .eq(id)
                .or(incident_links::other_id.eq(id)),
        )
        .order(incident_links::id.desc())
        .select(Link::as_select())
        .load(conn)?;
    let others: Vec<IncidentId> = rows
        .iter()
        .map(|l| {
            if l.incident_id == id {
                l.other_id
            } else {
                l.incident_id
            }
        })
        .filter(|o| !hidden.ids().contains(o))
        .collect();
    let facts: std::collections::HashMap<IncidentId, (String, Status)> = incidents::table
        .filter(incidents::id.eq_any(&others))
        .select((incidents::id, incidents::title, incidents::status))
        .load::<(IncidentId, String, Status)>(conn)?
        .into_iter()
        .map(|(i, t, s)| (i, (t, s)))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|l| {
            let outgoing = l.incident_id == id;
            let other = if outgoing { l.other_id } else { l.incident_id };
            let (title, status) = facts.get(&other)?.clone();
            Some(LinkView {
                id: l.id,
                kind: l.kind,
                outgoing,
                other: IncidentKey(other),
                other_title: title,
                other_status: status,
            })
        })
        .collect())
}

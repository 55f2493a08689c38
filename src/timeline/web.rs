//! Timeline pages: quick add, edit (with revisions kept), soft delete, revision history.

use crate::access::visible::{Entry, Record, Visible};
use crate::ids::EntryId;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::service::{self, parse_kind, EntryChanges};
use super::{EntryKind, NewEntry};
use crate::auth::csrf::{NoFields, SessionForm};
use crate::auth::{ensure, CurrentUser, Permission};
use crate::error::AppError;
use crate::incidents::web::{incident_page, Draft};
use crate::incidents::IncidentKey;
use crate::state::AppState;
use crate::time::{now, parse_rfc3339, rfc3339, Zone};
use crate::web::{back_to_incident, render, render_status, see_other, typed_time, Layout};

#[derive(Deserialize)]
pub struct EntryForm {
    #[serde(default)]
    occurred_at: String,
    /// The "it happened before the incident started" box.
    before_start: Option<String>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    version: String,
    /// The edit form's original time (RFC 3339): a time field still showing it, to the
    /// minute, keeps it to the microsecond.
    #[serde(default)]
    occurred_iso: String,
    /// The edit form's "key moment" box and marker.
    starred: Option<String>,
    #[serde(default)]
    marker: String,
}

/// The edit form's key-moment fields: the box and the marker ("" for none).
fn form_moment(data: &EntryForm) -> Result<service::MomentChange, AppError> {
    let marker = match data.marker.trim() {
        "" => None,
        m => Some(m.parse::<super::Marker>().map_err(|_| {
            AppError::invalid("marker", "Pick detection, diagnosis, repair or none.")
        })?),
    };
    Ok(service::MomentChange {
        starred: Some(data.starred.is_some()),
        marker: Some(marker),
    })
}

fn parse_time_field(raw: &str, zone: Zone) -> Result<Option<chrono::NaiveDateTime>, AppError> {
    typed_time(raw, "occurred_at", zone)
}

/// `GET /incidents/{key}/timeline`: the page's timeline alone (from the rendered-timeline
/// cache), which the page's script swaps in when a live event says it changed; the count
/// and the incident's last-change stamp come as headers.
pub async fn entries_fragment(
    state: web::Data<AppState>,
    user: CurrentUser,
    key: Visible,
) -> Result<HttpResponse, AppError> {
    let can_write = user.user.role.allows(Permission::Write);
    let zone = user.user.zone();
    let id = key.id();
    let timelines = std::sync::Arc::clone(&state.timelines);
    let (rendered, updated) = state
        .db
        .read(move |conn| {
            use crate::db::schema::incidents;
            use diesel::prelude::*;
            let (rev, updated) = incidents::table
                .find(id)
                .select((incidents::timeline_rev, incidents::updated_at))
                .first::<(i32, chrono::NaiveDateTime)>(conn)
                .optional()?
                .ok_or_else(|| AppError::NotFound(format!("incident {key}")))?;
            Ok((timelines.timeline(conn, id, rev, can_write, zone)?, updated))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Timeline-Count", rendered.count.to_string()))
        .insert_header(("X-Updated", rfc3339(updated)))
        .body(rendered.html.to_string()))
}

/// `POST /incidents/{key}/timeline`: back to the page with the new entry highlighted; on
/// an error the page comes back with the text kept.
pub async fn add_entry(
    state: web::Data<AppState>,
    key: Visible,
    form: SessionForm<EntryForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = key.id();
    let zone = user.user.zone();
    let prepared = parse_time_field(&data.occurred_at, zone).and_then(|time| {
        service::prepare(NewEntry::written(
            time.unwrap_or_else(now),
            service::parse_written_kind(&data.kind)?,
            data.body.clone(),
            Some(user.user.id),
            data.before_start.is_some(),
        ))
    });
    let result = async {
        let prepared = prepared?;
        state
            .db
            .write(move |conn| service::store(conn, id, prepared, &actor))
            .await
    }
    .await;
    match result {
        Ok(entry) => Ok(back_to_incident(
            &IncidentKey(id).to_string(),
            entry.occurred_at,
            &format!("e{}", entry.id),
            zone,
        )),
        Err(e) => {
            let e = e.shown_on_form()?;
            let draft = Draft {
                error: Some(crate::web::in_zone(&e.public_message(), zone)),
                body: data.body,
                time: data.occurred_at,
                kind: data.kind,
                ..Default::default()
            };
            incident_page(&state, &user, id, draft, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[derive(Template)]
#[template(path = "timeline/edit.html")]
struct EditPage {
    layout: Layout,
    key: String,
    entry_id: EntryId,
    occurred_at: String,
    occurred_iso: String,
    kind: String,
    body: String,
    version: i32,
    kinds: Vec<EntryKind>,
    starred: bool,
    marker: String,
    markers: &'static [super::Marker],
    error: Option<String>,
}

/// `GET /incidents/{key}/timeline/{id}/edit`
pub async fn edit_entry_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    entry: Record<Entry>,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Write)?;
    let (key, entry_id) = (entry.incident(), entry.id());
    let id = key.id();
    let view = state
        .db
        .read(move |conn| service::get(conn, id, entry_id))
        .await?;
    let e = view.entry;
    let page = EditPage {
        layout: Layout::new(&user, "incidents", "Edit entry"),
        key: IncidentKey(id).to_string(),
        entry_id,
        occurred_at: user.user.zone().date_hhmm(e.occurred_at),
        occurred_iso: rfc3339(e.occurred_at),
        kind: e.kind.to_string(),
        body: e.body,
        version: e.version,
        kinds: kinds_for(e.kind),
        starred: e.starred,
        marker: e.marker.map(|m| m.as_str().to_string()).unwrap_or_default(),
        markers: super::Marker::ALL,
        error: None,
    };
    render(&page)
}

/// The kinds an entry of `kind` may be given by hand: a generated one keeps its own; a
/// written one any pickable kind, or the one it has (an escalation entry stays one).
fn kinds_for(kind: EntryKind) -> Vec<EntryKind> {
    if kind.is_generated() {
        return vec![kind];
    }
    let mut kinds = EntryKind::PICKABLE.to_vec();
    if !kinds.contains(&kind) {
        kinds.push(kind);
    }
    kinds
}

/// `POST /incidents/{key}/timeline/{id}/edit`
pub async fn edit_entry(
    state: web::Data<AppState>,
    entry: Record<Entry>,
    form: SessionForm<EntryForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let (key, entry_id) = (entry.incident(), entry.id());
    let id = key.id();
    let zone = user.user.zone();
    let unchanged = parse_rfc3339(&data.occurred_iso)
        .is_some_and(|t| zone.date_hhmm(t) == data.occurred_at.trim());
    let changes = (|| {
        Ok::<_, AppError>(EntryChanges {
            occurred_at: if unchanged {
                None
            } else {
                parse_time_field(&data.occurred_at, zone)?
            },
            time_known: None,
            kind: Some(parse_kind(&data.kind)?),
            body: Some(service::written_body(&data.body)?),
            expected_version: Some(crate::web::form_version(&data.version)?),
        })
    })();
    let moment = form_moment(&data);
    let result = async {
        let (changes, moment) = (changes?, moment?);
        state
            .db
            .write(move |conn| {
                let entry = service::edit(conn, id, entry_id, changes, &actor)?;
                service::mark(conn, id, entry_id, moment, &actor)?;
                Ok(entry)
            })
            .await
    }
    .await;
    match result {
        Ok(entry) => Ok(see_other(&format!(
            "/incidents/{}#e{}",
            IncidentKey(id),
            entry.id
        ))),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let status = if matches!(e, AppError::Conflict(_)) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let page = EditPage {
                layout: Layout::new(&user, "incidents", "Edit entry"),
                key: IncidentKey(id).to_string(),
                entry_id,
                occurred_at: data.occurred_at,
                occurred_iso: data.occurred_iso,
                kinds: data
                    .kind
                    .parse()
                    .map(kinds_for)
                    .unwrap_or_else(|_| EntryKind::PICKABLE.to_vec()),
                kind: data.kind,
                body: data.body,
                version: data.version.trim().parse().unwrap_or(0),
                starred: data.starred.is_some(),
                marker: data.marker,
                markers: super::Marker::ALL,
                error: Some(e.public_message()),
            };
            render_status(status, &page)
        }
        Err(e) => Err(e),
    }
}

/// `POST /incidents/{key}/timeline/{id}/delete`
pub async fn delete_entry(
    state: web::Data<AppState>,
    entry: Record<Entry>,
    form: SessionForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (key, entry_id) = (entry.incident(), entry.id());
    let id = key.id();
    let actor = form.actor;
    state
        .db
        .write(move |conn| service::delete(conn, id, entry_id, &actor))
        .await?;
    Ok(see_other(&format!(
        "/incidents/{}#timeline",
        IncidentKey(id)
    )))
}

pub struct RevisionRow {
    pub iso: String,
    pub time: String,
    pub kind: String,
    pub body: String,
    pub edited_at: String,
    pub edited_by: String,
}

#[derive(Template)]
#[template(path = "timeline/revisions.html")]
struct RevisionsPage {
    layout: Layout,
    key: String,
    current: RevisionRow,
    revisions: Vec<RevisionRow>,
    /// "2026-12-06 03:40 CET by dana" when the entry was deleted.
    deleted: Option<String>,
}

/// When and by whom, as the pages say it.
fn deleted_words(d: &super::history::DeletedEntry, zone: crate::time::Zone) -> String {
    format!(
        "{} by {}",
        zone.in_words(d.deleted_at),
        d.deleted_by.as_deref().unwrap_or("someone no longer here")
    )
}

/// `GET /incidents/{key}/timeline/{id}/revisions`
pub async fn show_revisions(
    state: web::Data<AppState>,
    user: CurrentUser,
    entry: Record<Entry>,
) -> Result<HttpResponse, AppError> {
    let (key, entry_id) = (entry.incident(), entry.id());
    let id = key.id();
    let zone = user.user.zone();
    let (view, deleted, revisions) = state
        .db
        .read(move |conn| {
            // A deleted entry keeps its history, saying when and by whom it went.
            let (view, deleted) = match service::get(conn, id, entry_id) {
                Ok(view) => (view, None),
                Err(AppError::NotFound(m)) => {
                    let d = super::history::deleted(conn, id, Some(entry_id))?
                        .pop()
                        .ok_or(AppError::NotFound(m))?;
                    let words = deleted_words(&d, zone);
                    (d.view, Some(words))
                }
                Err(e) => return Err(e),
            };
            Ok((view, deleted, super::history::revisions(conn, entry_id)?))
        })
        .await?;
    let e = view.entry;
    let page = RevisionsPage {
        layout: Layout::new(&user, "incidents", "Entry history"),
        key: IncidentKey(id).to_string(),
        current: RevisionRow {
            iso: rfc3339(e.occurred_at),
            time: zone.date_hhmm(e.occurred_at),
            kind: e.kind.label().into(),
            body: e.body,
            edited_at: zone.date_hhmm(e.updated_at),
            edited_by: view.author.unwrap_or_default(),
        },
        revisions: revisions
            .into_iter()
            .map(|r| RevisionRow {
                iso: rfc3339(r.occurred_at),
                time: zone.date_hhmm(r.occurred_at),
                kind: r.kind.label().into(),
                body: r.body,
                edited_at: zone.date_hhmm(r.edited_at),
                edited_by: r.edited_by.unwrap_or_else(|| "system".into()),
            })
            .collect(),
        deleted,
    };
    render(&page)
}

/// One deleted entry as its page lists it.
pub struct DeletedRow {
    pub id: EntryId,
    pub iso: String,
    pub time: String,
    pub kind: &'static str,
    pub body_html: String,
    pub author: String,
    pub deleted: String,
}

#[derive(Template)]
#[template(path = "timeline/deleted.html")]
struct DeletedPage {
    layout: Layout,
    key: String,
    rows: Vec<DeletedRow>,
}

/// `GET /incidents/{key}/timeline/deleted`: what was deleted stays readable.
pub async fn show_deleted(
    state: web::Data<AppState>,
    user: CurrentUser,
    key: Visible,
) -> Result<HttpResponse, AppError> {
    let id = key.id();
    let zone = user.user.zone();
    let deleted = state
        .db
        .read(move |conn| super::history::deleted(conn, id, None))
        .await?;
    let rows = deleted
        .iter()
        .map(|d| {
            let e = &d.view.entry;
            DeletedRow {
                id: e.id,
                iso: rfc3339(e.occurred_at),
                time: if e.time_known {
                    zone.in_words(e.occurred_at)
                } else {
                    "time not known".into()
                },
                kind: e.kind.label(),
                body_html: e.body_html.clone(),
                author: d
                    .view
                    .author
                    .clone()
                    .or_else(|| e.imported_author.clone())
                    .unwrap_or_else(|| "system".into()),
                deleted: deleted_words(d, zone),
            }
        })
        .collect();
    render(&DeletedPage {
        layout: Layout::new(&user, "incidents", "Deleted entries"),
        key: key.key().to_string(),
        rows,
    })
}

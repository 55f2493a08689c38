//! `/api/v1/incidents/{key}/timeline`: list, add, edit (keeps a revision), soft delete.

use crate::access::visible::{Entry, Record, Visible};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::service::{self, parse_kind, EntryChanges};
use super::{EntryKind, EntryView, Marker, NewEntry};
use crate::api::{optional_time, ApiJson, PageParams};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::http_error::ApiError;
use crate::state::AppState;
use crate::time::now;

pub use super::json::EntryJson;

/// `GET /api/v1/incidents/{key}/timeline` in timeline order.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/timeline", tag = "timeline", params(("key" = String, Path, description = "Incident key: INC-7 or 7"), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query, description = "at most 1000")), responses((status = 200, body = crate::api::ListEnvelope<EntryJson>), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn list_entries(
    state: web::Data<AppState>,
    _user: ApiUser,
    key: Visible,
    paging: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    crate::api::incident_list(&state, key, &paging, service::list, EntryJson::from).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddEntry {
    occurred_at: Option<String>,
    time_known: Option<bool>,
    kind: Option<String>,
    body: Option<String>,
    /// A time before the incident's start is meant (else 422 naming `occurred_at`).
    #[serde(default)]
    before_start: bool,
    /// A key moment.
    starred: Option<bool>,
    /// `detection`, `diagnosis`, `repair` or null.
    #[serde(default, deserialize_with = "crate::api::nullable")]
    #[schema(value_type = Option<String>)]
    marker: Option<Option<String>>,
}

/// The key-moment fields of a body, checked.
fn moment_change(
    starred: Option<bool>,
    marker: Option<Option<String>>,
) -> Result<service::MomentChange, AppError> {
    let marker = marker
        .map(|m| {
            m.map(|m| {
                m.parse::<Marker>().map_err(|_| {
                    AppError::invalid(
                        "marker",
                        "marker must be detection, diagnosis, repair or null.",
                    )
                })
            })
            .transpose()
        })
        .transpose()?;
    Ok(service::MomentChange { starred, marker })
}

/// `POST /api/v1/incidents/{key}/timeline` → 201
#[utoipa::path(post, path = "/api/v1/incidents/{key}/timeline", tag = "timeline", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), request_body = AddEntry, responses((status = 201, body = EntryJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn add_entry(
    state: web::Data<AppState>,
    user: ApiUser,
    key: Visible,
    body: ApiJson<AddEntry>,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let b = body.0;
    let kind = b
        .kind
        .as_deref()
        .map(service::parse_written_kind)
        .transpose()?
        .unwrap_or(EntryKind::Note);
    let new = NewEntry {
        time_known: b.time_known.unwrap_or(true),
        ..NewEntry::written(
            optional_time(b.occurred_at.as_deref(), "occurred_at")?.unwrap_or_else(now),
            kind,
            b.body.unwrap_or_default(),
            Some(user.user.id),
            b.before_start,
        )
    };
    let moment = moment_change(b.starred, b.marker)?;
    let actor = user.actor();
    let prepared = service::prepare(new)?;
    let entry = state
        .db
        .write(move |conn| {
            let entry = service::store(conn, id, prepared, &actor)?;
            if moment.is_empty() {
                return Ok(entry);
            }
            service::mark(conn, id, entry.id, moment, &actor)?;
            Ok(service::get(conn, id, entry.id)?.entry)
        })
        .await?;
    Ok(HttpResponse::Created().json(EntryJson::from(EntryView {
        entry,
        author: Some(user.user.username),
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditEntry {
    occurred_at: Option<String>,
    time_known: Option<bool>,
    kind: Option<String>,
    body: Option<String>,
    version: Option<i32>,
    /// A key moment (no revision, no version change).
    starred: Option<bool>,
    /// `detection`, `diagnosis`, `repair` or null.
    #[serde(default, deserialize_with = "crate::api::nullable")]
    #[schema(value_type = Option<String>)]
    marker: Option<Option<String>>,
}

/// `PATCH /api/v1/incidents/{key}/timeline/{id}`
#[utoipa::path(patch, path = "/api/v1/incidents/{key}/timeline/{id}", tag = "timeline", params(("key" = String, Path, description = "Incident key: INC-7 or 7"), ("id" = i32, Path)), request_body = EditEntry, responses((status = 200, body = EntryJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn edit_entry(
    state: web::Data<AppState>,
    user: ApiUser,
    entry: Record<Entry>,
    body: ApiJson<EditEntry>,
) -> Result<HttpResponse, ApiError> {
    let (key, entry_id) = (entry.incident(), entry.id());
    let id = key.id();
    let b = body.0;
    let moment = moment_change(b.starred, b.marker)?;
    // Only a star or marker: not an edit of the text (no revision, no version check).
    let text_edit = b.occurred_at.is_some()
        || b.time_known.is_some()
        || b.kind.is_some()
        || b.body.is_some()
        || moment.is_empty();
    let changes = EntryChanges {
        occurred_at: optional_time(b.occurred_at.as_deref(), "occurred_at")?,
        time_known: b.time_known,
        kind: b.kind.as_deref().map(parse_kind).transpose()?,
        body: b.body.as_deref().map(service::written_body).transpose()?,
        expected_version: b.version,
    };
    let actor = user.actor();
    let view = state
        .db
        .write(move |conn| {
            if text_edit {
                service::edit(conn, id, entry_id, changes, &actor)?;
            }
            service::mark(conn, id, entry_id, moment, &actor)?;
            service::get(conn, id, entry_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(EntryJson::from(view)))
}

/// `DELETE /api/v1/incidents/{key}/timeline/{id}` → 204 (soft delete)
#[utoipa::path(delete, path = "/api/v1/incidents/{key}/timeline/{id}", tag = "timeline", params(("key" = String, Path, description = "Incident key: INC-7 or 7"), ("id" = i32, Path)), responses((status = 204), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn delete_entry(
    state: web::Data<AppState>,
    user: ApiUser,
    entry: Record<Entry>,
) -> Result<HttpResponse, ApiError> {
    let (key, entry_id) = (entry.incident(), entry.id());
    let id = key.id();
    let actor = user.actor();
    state
        .db
        .write(move |conn| service::delete(conn, id, entry_id, &actor))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

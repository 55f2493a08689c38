//! `/api/v1/incidents/{key}/links`: link an incident to another, or remove a link.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{LinkKind, LinkView};
use crate::access::visible::{Link, Record, Visible};
use crate::access::Reader;
use crate::api::ApiJson;
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::http_error::ApiError;
use crate::ids::LinkId;
use crate::incidents::IncidentKey;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkJson {
    id: LinkId,
    /// `related`, `caused_by` or `duplicate_of`, as made from the incident that made it.
    kind: LinkKind,
    /// The incident on the other end.
    other: String,
    /// `outgoing`: this incident made the link ("caused by INC-3"); `incoming`: the other did.
    direction: &'static str,
}

impl From<LinkView> for LinkJson {
    fn from(l: LinkView) -> Self {
        LinkJson {
            id: l.id,
            kind: l.kind,
            other: l.other.to_string(),
            direction: if l.outgoing { "outgoing" } else { "incoming" },
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    /// `related`, `caused_by` or `duplicate_of`.
    kind: Option<String>,
    /// The other incident's key (`INC-3` or `3`).
    other: Option<String>,
}

/// The other incident of a link form or body: a key, or the 422 that names `other`.
pub fn other_of(raw: Option<&str>) -> Result<crate::ids::IncidentId, AppError> {
    let raw = raw.map(str::trim).unwrap_or_default();
    if raw.is_empty() {
        return Err(AppError::invalid(
            "other",
            "Name the other incident (INC-3).",
        ));
    }
    raw.parse::<IncidentKey>()
        .map(|k| k.0)
        .map_err(|_| AppError::invalid("other", format!("There is no incident {raw}.")))
}

/// `POST /api/v1/incidents/{key}/links` → 201
#[utoipa::path(post, path = "/api/v1/incidents/{key}/links", tag = "incidents", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), request_body = NewLink, responses((status = 201, body = LinkJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn create_link(
    state: web::Data<AppState>,
    user: ApiUser,
    key: Visible,
    body: ApiJson<NewLink>,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let kind = LinkKind::parse_field(body.0.kind.as_deref().unwrap_or_default())?;
    let other = other_of(body.0.other.as_deref())?;
    let (reader, actor) = (Reader::of(&user.user), user.actor());
    let link = state
        .db
        .write(move |conn| super::create(conn, id, other, kind, reader, &actor))
        .await?;
    Ok(HttpResponse::Created().json(LinkJson {
        id: link.id,
        kind: link.kind,
        other: IncidentKey(link.other_id).to_string(),
        direction: "outgoing",
    }))
}

/// `DELETE /api/v1/incidents/{key}/links/{id}` → 204 (from the incident that made it)
#[utoipa::path(delete, path = "/api/v1/incidents/{key}/links/{id}", tag = "incidents", params(("key" = String, Path, description = "Incident key: INC-7 or 7"), ("id" = i32, Path)), responses((status = 204), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc)))]
pub async fn delete_link(
    state: web::Data<AppState>,
    user: ApiUser,
    link: Record<Link>,
) -> Result<HttpResponse, ApiError> {
    let (id, link_id) = (link.incident().id(), link.id());
    let actor = user.actor();
    state
        .db
        .write(move |conn| super::delete(conn, id, link_id, &actor))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

//! `/api/v1/incidents/{key}/root-causes` and `/api/v1/root-causes/{id}`.

use crate::access::visible::{Cause, Record, Visible};
use crate::ids::RootCauseId;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{CauseCategory, CauseChanges, CauseFields, CauseKind, RootCause};
use crate::api::{ApiJson, PageParams};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::http_error::ApiError;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct RootCauseJson {
    pub id: RootCauseId,
    pub kind: CauseKind,
    pub category: CauseCategory,
    pub description: String,
}

impl From<RootCause> for RootCauseJson {
    fn from(c: RootCause) -> Self {
        RootCauseJson {
            id: c.id,
            kind: c.kind,
            category: c.category,
            description: c.description,
        }
    }
}

/// `GET /api/v1/incidents/{key}/root-causes`
#[utoipa::path(get, path = "/api/v1/incidents/{key}/root-causes", tag = "root causes", params(("key" = String, Path, description = "Incident key: INC-7 or 7"), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query, description = "at most 1000")), responses((status = 200, body = crate::api::ListEnvelope<RootCauseJson>), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn list_causes(
    state: web::Data<AppState>,
    _user: ApiUser,
    key: Visible,
    paging: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    crate::api::incident_list(&state, key, &paging, super::list, RootCauseJson::from).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CauseBody {
    kind: Option<String>,
    category: Option<String>,
    description: Option<String>,
}

/// `POST /api/v1/incidents/{key}/root-causes` → 201
#[utoipa::path(post, path = "/api/v1/incidents/{key}/root-causes", tag = "root causes", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), request_body = CauseBody, responses((status = 201, body = RootCauseJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn create_cause(
    state: web::Data<AppState>,
    user: ApiUser,
    key: Visible,
    body: ApiJson<CauseBody>,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let b = body.0;
    let cause = CauseFields::parse(
        b.kind.as_deref().unwrap_or("primary"),
        b.category.as_deref().unwrap_or("unknown"),
        b.description.as_deref().unwrap_or(""),
    )?
    .rendered();
    let actor = user.actor();
    let cause = state
        .db
        .write(move |conn| super::create(conn, id, &cause, &actor))
        .await?;
    Ok(HttpResponse::Created().json(RootCauseJson::from(cause)))
}

/// `PATCH /api/v1/root-causes/{id}`
#[utoipa::path(patch, path = "/api/v1/root-causes/{id}", tag = "root causes", params(("id" = i32, Path)), request_body = CauseBody, responses((status = 200, body = RootCauseJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn update_cause(
    state: web::Data<AppState>,
    user: ApiUser,
    record: Record<Cause>,
    body: ApiJson<CauseBody>,
) -> Result<HttpResponse, ApiError> {
    let id = record.id();
    let b = body.0;
    let actor = user.actor();
    // Only what is sent changes; a new description is rendered here, before the write.
    let changes = CauseChanges {
        kind: b.kind.as_deref().map(super::parse_kind).transpose()?,
        category: b
            .category
            .as_deref()
            .map(super::parse_category)
            .transpose()?,
        description: b
            .description
            .as_deref()
            .map(super::parse_description)
            .transpose()?
            .map(crate::markdown::Rendered::new),
    };
    let cause = state
        .db
        .write(move |conn| super::update(conn, id, &changes, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(RootCauseJson::from(cause)))
}

/// `DELETE /api/v1/root-causes/{id}` → 204 (admins)
#[utoipa::path(delete, path = "/api/v1/root-causes/{id}", tag = "root causes", params(("id" = i32, Path)), responses((status = 204), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn delete_cause(
    state: web::Data<AppState>,
    user: ApiUser,
    record: Record<Cause>,
) -> Result<HttpResponse, ApiError> {
    let id = record.id();
    let actor = user.actor();
    state
        .db
        .write(move |conn| super::delete(conn, id, &actor).map(|_| ()))
        .await
        .map_err(|e: AppError| ApiError(e))?;
    Ok(HttpResponse::NoContent().finish())
}

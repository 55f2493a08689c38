//! `/api/v1/services`: the catalog. Anyone with a token reads it; admins change it.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{Changes, ServiceView};
use crate::access::Reader;
use crate::api::{nullable, ApiJson};
use crate::auth::ApiUser;
use crate::http_error::ApiError;
use crate::state::AppState;
use crate::time::rfc3339;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ServiceJson {
    pub name: String,
    /// The owning team's name.
    pub team: Option<String>,
    /// 1 (most critical) to 4.
    pub tier: Option<i32>,
    pub runbook_url: String,
    pub description: String,
    /// A component of the public status page.
    pub public: bool,
    /// Incidents naming it that the caller may see, and how many are not resolved.
    pub incidents: i64,
    pub open_incidents: i64,
    pub created_at: String,
}

impl From<ServiceView> for ServiceJson {
    fn from(v: ServiceView) -> Self {
        ServiceJson {
            name: v.service.name,
            team: v.team,
            tier: v.service.tier,
            runbook_url: v.service.runbook_url,
            description: v.service.description,
            public: v.service.public,
            incidents: v.incidents,
            open_incidents: v.open,
            created_at: rfc3339(v.service.created_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ServiceList {
    pub items: Vec<ServiceJson>,
}

/// A new service, or changes to one (PATCH: absent keeps, `null` clears).
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ServiceBody {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub team: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub tier: Option<Option<i32>>,
    pub runbook_url: Option<String>,
    pub description: Option<String>,
    pub public: Option<bool>,
}

impl From<ServiceBody> for Changes {
    fn from(b: ServiceBody) -> Self {
        Changes {
            name: b.name,
            team: b.team,
            tier: b.tier,
            runbook_url: b.runbook_url,
            description: b.description,
            public: b.public,
        }
    }
}

/// The catalog entry called `name` as `reader` sees it.
fn view(
    conn: &mut crate::db::DbConnection,
    name: &str,
    reader: Reader,
) -> Result<ServiceView, crate::error::AppError> {
    let wanted = super::named(conn, name)?.id;
    super::list(conn, reader)?
        .into_iter()
        .find(|v| v.service.id == wanted)
        .ok_or_else(|| crate::error::AppError::NotFound(format!("service `{name}`")))
}

/// `GET /api/v1/services`
#[utoipa::path(get, path = "/api/v1/services", tag = "services", responses((status = 200, body = ServiceList), (status = 401, body = crate::api::ErrorDoc)))]
pub async fn list_services(
    state: web::Data<AppState>,
    user: ApiUser,
) -> Result<HttpResponse, ApiError> {
    let reader = Reader::of(&user.user);
    let all = state.db.read(move |conn| super::list(conn, reader)).await?;
    Ok(HttpResponse::Ok().json(ServiceList {
        items: all.into_iter().map(Into::into).collect(),
    }))
}

/// `GET /api/v1/services/{name}`
#[utoipa::path(get, path = "/api/v1/services/{name}", tag = "services", params(("name" = String, Path)), responses((status = 200, body = ServiceJson), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc)))]
pub async fn get_service(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reader = Reader::of(&user.user);
    let name = name.into_inner();
    let v = state.db.read(move |conn| view(conn, &name, reader)).await?;
    Ok(HttpResponse::Ok().json(ServiceJson::from(v)))
}

/// `POST /api/v1/services` → 201 (admins)
#[utoipa::path(post, path = "/api/v1/services", tag = "services", request_body = ServiceBody, responses((status = 201, body = ServiceJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn create_service(
    state: web::Data<AppState>,
    user: ApiUser,
    body: ApiJson<ServiceBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, reader) = (user.actor(), Reader::of(&user.user));
    let changes = Changes::from(body.0);
    let v = state
        .db
        .write(move |conn| {
            let s = super::create(conn, changes, &actor)?;
            view(conn, &s.name, reader)
        })
        .await?;
    Ok(HttpResponse::Created().json(ServiceJson::from(v)))
}

/// `PATCH /api/v1/services/{name}` (admins)
#[utoipa::path(patch, path = "/api/v1/services/{name}", tag = "services", params(("name" = String, Path)), request_body = ServiceBody, responses((status = 200, body = ServiceJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn update_service(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
    body: ApiJson<ServiceBody>,
) -> Result<HttpResponse, ApiError> {
    let (actor, reader) = (user.actor(), Reader::of(&user.user));
    let (name, changes) = (name.into_inner(), Changes::from(body.0));
    let v = state
        .db
        .write(move |conn| {
            // Admins only: the check comes before the lookup, so others learn nothing.
            actor.require(crate::auth::Permission::Administer)?;
            let id = super::named(conn, &name)?.id;
            let s = super::update(conn, id, changes, &actor)?;
            view(conn, &s.name, reader)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ServiceJson::from(v)))
}

/// `DELETE /api/v1/services/{name}` → 204 (admins; 409 while incidents name it)
#[utoipa::path(delete, path = "/api/v1/services/{name}", tag = "services", params(("name" = String, Path)), responses((status = 204), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc)))]
pub async fn delete_service(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let name = name.into_inner();
    state
        .db
        .write(move |conn| {
            actor.require(crate::auth::Permission::Administer)?;
            let id = super::named(conn, &name)?.id;
            super::delete(conn, id, &actor)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

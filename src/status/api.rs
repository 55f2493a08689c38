//! `GET, PATCH /api/v1/status`: the status page's settings and components (admins).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{Changes, ComponentState};
use crate::api::ApiJson;
use crate::auth::{ApiUser, Permission};
use crate::error::AppError;
use crate::http_error::ApiError;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusJson {
    enabled: bool,
    title: String,
    logo_url: String,
    components: Vec<ComponentJson>,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentJson {
    /// A service of the catalog.
    service: String,
    /// `operational`, `degraded`, `partial_outage`, `major_outage`, `maintenance`, or null:
    /// from the service's open public incidents.
    state: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchStatus {
    enabled: Option<bool>,
    title: Option<String>,
    logo_url: Option<String>,
    /// Replaces the components (the catalog's public services).
    components: Option<Vec<ComponentJson>>,
}

fn read(conn: &mut crate::db::DbConnection) -> Result<StatusJson, AppError> {
    use crate::db::schema::services;
    use diesel::prelude::*;
    let s = super::settings(conn)?;
    let components: Vec<(String, Option<String>)> = services::table
        .filter(services::public.eq(true))
        .order(services::name.asc())
        .select((services::name, services::status_override))
        .load(conn)?;
    Ok(StatusJson {
        enabled: s.enabled,
        title: s.title,
        logo_url: s.logo_url,
        components: components
            .into_iter()
            .map(|(service, state)| ComponentJson { service, state })
            .collect(),
    })
}

/// `GET /api/v1/status` (admins)
#[utoipa::path(get, path = "/api/v1/status", tag = "status", responses((status = 200, body = StatusJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc)))]
pub async fn get_status(
    state: web::Data<AppState>,
    user: ApiUser,
) -> Result<HttpResponse, ApiError> {
    user.actor().require(Permission::Administer)?;
    Ok(HttpResponse::Ok().json(state.db.read(read).await?))
}

/// `PATCH /api/v1/status` (admins)
#[utoipa::path(patch, path = "/api/v1/status", tag = "status", request_body = PatchStatus, responses((status = 200, body = StatusJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn patch_status(
    state: web::Data<AppState>,
    user: ApiUser,
    body: ApiJson<PatchStatus>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let b = body.0;
    let components = b
        .components
        .map(|cs| {
            cs.into_iter()
                .enumerate()
                .map(|(i, c)| {
                    let state = c
                        .state
                        .map(|s| {
                            s.parse::<ComponentState>().map_err(|e| {
                                AppError::invalid(
                                    &format!("components[{i}].state"),
                                    format!("state {e}"),
                                )
                            })
                        })
                        .transpose()?;
                    Ok((c.service, state))
                })
                .collect::<Result<Vec<_>, AppError>>()
        })
        .transpose()?;
    let changes = Changes {
        enabled: b.enabled,
        title: b.title,
        logo_url: b.logo_url,
        components,
    };
    let out = state
        .db
        .write(move |conn| {
            super::update(conn, changes, &actor)?;
            read(conn)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MaintenanceJson {
    id: i32,
    title: String,
    body: String,
    components: Vec<String>,
    starts_at: String,
    ends_at: String,
    /// `scheduled`, `in_progress` or `completed`, from the clock.
    state: String,
}

impl MaintenanceJson {
    fn of(m: super::maintenance::Maintenance, at: chrono::NaiveDateTime) -> Self {
        MaintenanceJson {
            state: m.state_at(at).to_string(),
            id: m.id,
            title: m.title,
            body: m.body,
            components: m.components,
            starts_at: crate::time::rfc3339(m.starts_at),
            ends_at: crate::time::rfc3339(m.ends_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MaintenanceList {
    items: Vec<MaintenanceJson>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMaintenance {
    title: Option<String>,
    body: Option<String>,
    /// Service names from the catalog.
    #[serde(default)]
    components: Vec<String>,
    /// RFC 3339.
    starts_at: Option<String>,
    ends_at: Option<String>,
}

/// An optional RFC 3339 field; blank is absent.
fn time_field(raw: Option<&str>, field: &str) -> Result<Option<chrono::NaiveDateTime>, AppError> {
    crate::api::optional_time(raw.map(str::trim).filter(|t| !t.is_empty()), field)
}

/// `POST /api/v1/status/maintenances` → 201 (admins)
#[utoipa::path(post, path = "/api/v1/status/maintenances", tag = "status", request_body = NewMaintenance, responses((status = 201, body = MaintenanceJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn schedule_maintenance(
    state: web::Data<AppState>,
    user: ApiUser,
    body: ApiJson<NewMaintenance>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let b = body.0;
    let new = super::maintenance::NewMaintenance {
        title: b.title.unwrap_or_default(),
        body: b.body.unwrap_or_default(),
        components: b.components,
        starts_at: time_field(b.starts_at.as_deref(), "starts_at")?,
        ends_at: time_field(b.ends_at.as_deref(), "ends_at")?,
    };
    let m = state
        .db
        .write(move |conn| super::maintenance::schedule(conn, new, &actor))
        .await?;
    Ok(HttpResponse::Created().json(MaintenanceJson::of(m, crate::time::now())))
}

/// `GET /api/v1/status/maintenances`: the windows not long over, soonest first.
#[utoipa::path(get, path = "/api/v1/status/maintenances", tag = "status", responses((status = 200, body = MaintenanceList), (status = 401, body = crate::api::ErrorDoc)))]
pub async fn list_maintenances(
    state: web::Data<AppState>,
    _user: ApiUser,
) -> Result<HttpResponse, ApiError> {
    let at = crate::time::now();
    let all = state
        .db
        .read(move |conn| super::maintenance::shown(conn, at))
        .await?;
    Ok(HttpResponse::Ok().json(MaintenanceList {
        items: all
            .into_iter()
            .map(|m| MaintenanceJson::of(m, at))
            .collect(),
    }))
}

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

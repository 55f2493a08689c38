//! `GET, PUT /api/v1/incidents/{key}/access`: whether the incident is restricted and who
//! its members are (usernames and team names). PUT: its commander or an admin.

use crate::access::visible::Visible;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::Access;
use crate::api::ApiJson;
use crate::auth::ApiUser;
use crate::http_error::ApiError;
use crate::state::AppState;

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessJson {
    pub restricted: bool,
    /// Usernames (the commander and whoever restricted it are always among them).
    #[serde(default)]
    pub users: Vec<String>,
    /// Team names: their members see it too.
    #[serde(default)]
    pub teams: Vec<String>,
}

impl From<Access> for AccessJson {
    fn from(a: Access) -> Self {
        AccessJson {
            restricted: a.restricted,
            users: a.users,
            teams: a.teams,
        }
    }
}

/// `GET /api/v1/incidents/{key}/access`
#[utoipa::path(get, path = "/api/v1/incidents/{key}/access", tag = "incidents", params(("key" = String, Path)), responses((status = 200, body = AccessJson), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc)))]
pub async fn get_access(
    state: web::Data<AppState>,
    _user: ApiUser,
    key: Visible,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let access = state.db.read(move |conn| super::of(conn, id)).await?;
    Ok(HttpResponse::Ok().json(AccessJson::from(access)))
}

/// `PUT /api/v1/incidents/{key}/access`
#[utoipa::path(put, path = "/api/v1/incidents/{key}/access", tag = "incidents", params(("key" = String, Path)), request_body = AccessJson, responses((status = 200, body = AccessJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn put_access(
    state: web::Data<AppState>,
    user: ApiUser,
    key: Visible,
    body: ApiJson<AccessJson>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let id = key.id();
    let wanted = Access {
        restricted: body.0.restricted,
        users: body.0.users,
        teams: body.0.teams,
    };
    let access = state
        .db
        .write(move |conn| super::set(conn, id, &wanted, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(AccessJson::from(access)))
}

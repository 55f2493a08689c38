//! `/api/v1/teams`: list (anyone with a token), create, change, delete (admins).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::TeamView;
use crate::api::ApiJson;
use crate::auth::ApiUser;
use crate::http_error::ApiError;
use crate::ids::TeamId;
use crate::state::AppState;
use crate::time::rfc3339;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamJson {
    pub id: TeamId,
    pub name: String,
    /// Usernames.
    pub members: Vec<String>,
    pub created_at: String,
}

impl From<TeamView> for TeamJson {
    fn from(v: TeamView) -> Self {
        TeamJson {
            id: v.team.id,
            name: v.team.name,
            members: v.members,
            created_at: rfc3339(v.team.created_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamList {
    pub items: Vec<TeamJson>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    pub name: String,
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTeam {
    pub name: Option<String>,
    /// Replaces the members when given.
    pub members: Option<Vec<String>>,
}

/// `GET /api/v1/teams`
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", responses((status = 200, body = TeamList), (status = 401, body = crate::api::ErrorDoc)))]
pub async fn list_teams(
    state: web::Data<AppState>,
    _user: ApiUser,
) -> Result<HttpResponse, ApiError> {
    let teams = state.db.read(super::list).await?;
    Ok(HttpResponse::Ok().json(TeamList {
        items: teams.into_iter().map(Into::into).collect(),
    }))
}

/// `POST /api/v1/teams` → 201 (admins)
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = CreateTeam, responses((status = 201, body = TeamJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn create_team(
    state: web::Data<AppState>,
    user: ApiUser,
    body: ApiJson<CreateTeam>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let CreateTeam { name, members } = body.0;
    let team = state
        .db
        .write(move |conn| super::create(conn, &name, &members, &actor))
        .await?;
    Ok(HttpResponse::Created().json(TeamJson::from(team)))
}

/// `PATCH /api/v1/teams/{id}` (admins)
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = i32, Path)), request_body = PatchTeam, responses((status = 200, body = TeamJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn update_team(
    state: web::Data<AppState>,
    user: ApiUser,
    id: web::Path<TeamId>,
    body: ApiJson<PatchTeam>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let id = id.into_inner();
    let PatchTeam { name, members } = body.0;
    let team = state
        .db
        .write(move |conn| super::update(conn, id, name.as_deref(), members.as_deref(), &actor))
        .await?;
    Ok(HttpResponse::Ok().json(TeamJson::from(team)))
}

/// `DELETE /api/v1/teams/{id}` → 204 (admins)
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = i32, Path)), responses((status = 204), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc)))]
pub async fn delete_team(
    state: web::Data<AppState>,
    user: ApiUser,
    id: web::Path<TeamId>,
) -> Result<HttpResponse, ApiError> {
    let actor = user.actor();
    let id = id.into_inner();
    state
        .db
        .write(move |conn| super::delete(conn, id, &actor))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

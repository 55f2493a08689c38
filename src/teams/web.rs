//! `/admin/teams`: list, create, rename or change members, delete.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::TeamView;
use crate::auth::csrf::{NoFields, SessionForm};
use crate::auth::{ensure, users, CurrentUser, Permission};
use crate::error::AppError;
use crate::ids::TeamId;
use crate::state::AppState;
use crate::web::{render_status, see_other, Layout};

#[derive(Template)]
#[template(path = "admin/teams.html")]
struct TeamsPage {
    layout: Layout,
    teams: Vec<TeamRow>,
    usernames: Vec<String>,
    error: Option<String>,
    form: TeamForm,
}

struct TeamRow {
    id: TeamId,
    name: String,
    members: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct TeamForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    members: String,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<AppError>,
    form: TeamForm,
) -> Result<HttpResponse, AppError> {
    let (teams, usernames) = state
        .db
        .read(|conn| Ok((super::list(conn)?, users::active_usernames(conn, false)?)))
        .await?;
    let status = match &error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    render_status(
        status,
        &TeamsPage {
            layout: Layout::new(user, "admin", "Teams"),
            teams: teams
                .into_iter()
                .map(|TeamView { team, members }| TeamRow {
                    id: team.id,
                    name: team.name,
                    members: members.join(", "),
                })
                .collect(),
            usernames,
            error: error.map(|e| e.to_string()),
            form,
        },
    )
}

/// `GET /admin/teams`
pub async fn list_teams(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Administer)?;
    page(&state, &user, None, TeamForm::default()).await
}

/// `POST /admin/teams`
pub async fn create_team(
    state: web::Data<AppState>,
    form: SessionForm<TeamForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    ensure(&user.user, Permission::Administer)?;
    let (name, members) = (data.name.clone(), super::parse_members(&data.members));
    match state
        .db
        .write(move |conn| super::create(conn, &name, &members, &actor))
        .await
    {
        Ok(_) => Ok(see_other("/admin/teams")),
        Err(e) => page(&state, &user, Some(e.shown_on_form()?), data).await,
    }
}

/// `POST /admin/teams/{id}`: rename and set members.
pub async fn update_team(
    state: web::Data<AppState>,
    path: web::Path<TeamId>,
    form: SessionForm<TeamForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    ensure(&user.user, Permission::Administer)?;
    let id = path.into_inner();
    let (name, members) = (data.name.clone(), super::parse_members(&data.members));
    match state
        .db
        .write(move |conn| super::update(conn, id, Some(&name), Some(&members), &actor))
        .await
    {
        Ok(_) => Ok(see_other("/admin/teams")),
        Err(e) => {
            let e = e.shown_on_form()?;
            page(&state, &user, Some(e), TeamForm::default()).await
        }
    }
}

/// `POST /admin/teams/{id}/delete`
pub async fn delete_team(
    state: web::Data<AppState>,
    path: web::Path<TeamId>,
    form: SessionForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, actor, .. } = form;
    ensure(&user.user, Permission::Administer)?;
    let id = path.into_inner();
    state
        .db
        .write(move |conn| super::delete(conn, id, &actor))
        .await?;
    Ok(see_other("/admin/teams"))
}

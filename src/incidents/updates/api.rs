//! `/api/v1/incidents/{key}/updates`: post a stakeholder update, list them.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{UpdateInput, UpdateView};
use crate::access::visible::Visible;
use crate::api::ApiJson;
use crate::auth::ApiUser;
use crate::http_error::ApiError;
use crate::state::AppState;
use crate::time::rfc3339;

#[derive(Serialize, utoipa::ToSchema)]
pub struct UpdateJson {
    id: i32,
    /// `internal` or `public`.
    audience: String,
    /// The incident's state as the update gives it (`investigating` … `resolved`).
    state: String,
    impact: String,
    /// What is being done.
    actions: String,
    next_update_at: Option<String>,
    /// The timeline entry it made.
    entry_id: Option<i32>,
    author: Option<String>,
    created_at: String,
}

impl From<UpdateView> for UpdateJson {
    fn from(v: UpdateView) -> Self {
        let u = v.update;
        UpdateJson {
            id: u.id,
            audience: u.audience.to_string(),
            state: u.state.to_string(),
            impact: u.impact,
            actions: u.actions,
            next_update_at: u.next_update_at.map(rfc3339),
            entry_id: u.entry_id.map(|e| e.0),
            author: v.author,
            created_at: rfc3339(u.created_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UpdateList {
    items: Vec<UpdateJson>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpdate {
    /// `internal` or `public` (a restricted incident's updates are internal).
    audience: Option<String>,
    /// Defaults to the incident's status.
    state: Option<String>,
    impact: Option<String>,
    actions: Option<String>,
    /// RFC 3339; when the next update comes (else the severity's cadence decides).
    next_update_at: Option<String>,
}

/// `POST /api/v1/incidents/{key}/updates` → 201
#[utoipa::path(post, path = "/api/v1/incidents/{key}/updates", tag = "incidents", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), request_body = NewUpdate, responses((status = 201, body = UpdateJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn post_update(
    state: web::Data<AppState>,
    user: ApiUser,
    key: Visible,
    body: ApiJson<NewUpdate>,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let b = body.0;
    let next_update_at = crate::api::optional_time(
        b.next_update_at
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty()),
        "next_update_at",
    )?;
    let input = UpdateInput {
        audience: b.audience.unwrap_or_else(|| "internal".into()),
        state: b.state.unwrap_or_default(),
        impact: b.impact.unwrap_or_default(),
        actions: b.actions.unwrap_or_default(),
        next_update_at,
    };
    let (actor, cadence) = (user.actor(), state.config.update_cadence);
    let view = state
        .db
        .write(move |conn| {
            let u = super::post(conn, id, input, &cadence, &actor)?;
            let author = actor.user_id.map(|_| actor.name.clone());
            Ok(UpdateView { update: u, author })
        })
        .await?;
    Ok(HttpResponse::Created().json(UpdateJson::from(view)))
}

/// `GET /api/v1/incidents/{key}/updates`: newest first.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/updates", tag = "incidents", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), responses((status = 200, body = UpdateList), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc)))]
pub async fn list_updates(
    state: web::Data<AppState>,
    _user: ApiUser,
    key: Visible,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let items = state.db.read(move |conn| super::list(conn, id)).await?;
    Ok(HttpResponse::Ok().json(UpdateList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

//! `/api/v1/me`: the caller's account as the API shows users (with `email`) and their
//! notification preferences; PATCH changes the address and preferences.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::api::ApiJson;
use crate::auth::{users, ApiUser, Role};
use crate::http_error::ApiError;
use crate::ids::UserId;
use crate::notifications::prefs;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeJson {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub email: Option<String>,
    pub time_zone: String,
    /// Kind of notification → `in_app`, `email`, `both`, `digest` (overdue tasks) or `none`.
    #[schema(value_type = Object)]
    pub notification_preferences: BTreeMap<String, String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMe {
    /// An address, or `""` to remove it.
    pub email: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub notification_preferences: Option<HashMap<String, String>>,
}

async fn me(state: &AppState, id: UserId) -> Result<MeJson, crate::error::AppError> {
    state
        .db
        .read(move |conn| {
            let u = users::find(conn, id)?;
            let choices = prefs::of_user(conn, id)?;
            Ok(MeJson {
                id: u.id,
                username: u.username,
                display_name: u.display_name,
                role: u.role,
                email: u.email,
                time_zone: u.time_zone,
                notification_preferences: choices
                    .into_iter()
                    .map(|(k, c)| (k.to_string(), c.to_string()))
                    .collect(),
            })
        })
        .await
}

/// `GET /api/v1/me`
#[utoipa::path(get, path = "/api/v1/me", tag = "me", responses((status = 200, body = MeJson), (status = 401, body = crate::api::ErrorDoc)))]
pub async fn get_me(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(me(&state, user.user.id).await?))
}

/// `PATCH /api/v1/me`
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", request_body = PatchMe, responses((status = 200, body = MeJson), (status = 401, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn patch_me(
    state: web::Data<AppState>,
    user: ApiUser,
    body: ApiJson<PatchMe>,
) -> Result<HttpResponse, ApiError> {
    let PatchMe {
        email,
        notification_preferences,
    } = body.0;
    let raw = notification_preferences.unwrap_or_default();
    if let Some(unknown) = raw
        .keys()
        .find(|k| k.parse::<crate::notifications::NotificationKind>().is_err())
    {
        return Err(crate::error::AppError::invalid(
            &format!("notification_preferences.{unknown}"),
            format!(
                "Unknown kind; use {}.",
                crate::notifications::NotificationKind::expected()
            ),
        )
        .into());
    }
    let choices = super::notifications::parse_choices(&raw)?;
    let (id, actor) = (user.user.id, user.actor());
    state
        .db
        .write(move |conn| {
            if let Some(email) = &email {
                users::set_email(conn, id, email, &actor)?;
            }
            prefs::set(conn, id, &choices)
        })
        .await?;
    Ok(HttpResponse::Ok().json(me(&state, user.user.id).await?))
}

//! `GET /api/v1/notifications`: the caller's inbox, `{"items": […], "unread": N}`.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::time::rfc3339;

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationJson {
    pub id: i32,
    pub kind: super::NotificationKind,
    pub message: String,
    pub link: String,
    pub created_at: String,
    pub read_at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InboxJson {
    pub items: Vec<NotificationJson>,
    pub unread: i64,
}

/// `GET /api/v1/notifications` (newest 200)
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", responses((status = 200, body = InboxJson), (status = 401, body = crate::api::ErrorDoc)))]
pub async fn list_notifications(
    state: web::Data<AppState>,
    user: ApiUser,
) -> Result<HttpResponse, ApiError> {
    let id = user.user.id;
    let (items, unread) = state
        .db
        .read(move |conn| super::inbox(conn, id, 200))
        .await?;
    Ok(HttpResponse::Ok().json(InboxJson {
        items: items
            .into_iter()
            .map(|n| NotificationJson {
                id: n.id,
                kind: n.kind,
                message: n.message,
                link: n.link,
                created_at: rfc3339(n.created_at),
                read_at: n.read_at.map(rfc3339),
            })
            .collect(),
        unread,
    }))
}

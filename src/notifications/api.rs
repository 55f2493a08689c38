//! `GET /api/v1/notifications`: the caller's inbox, `{"items": […], "unread": N}`.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::auth::ApiUser;
use crate::http_error::ApiError;
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
    let reader = crate::access::Reader::of(&user.user);
    let (items, unread) = state
        .db
        .read(move |conn| super::inbox(conn, reader, 200))
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

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// One notification; absent: all of them.
    pub id: Option<i32>,
}

/// `POST /api/v1/notifications/read` → 204: marks one (`{"id": N}`) or all read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", request_body = ReadBody, responses((status = 204), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc)))]
pub async fn mark_read(
    state: web::Data<AppState>,
    user: ApiUser,
    body: crate::api::ApiJson<ReadBody>,
) -> Result<HttpResponse, ApiError> {
    let (uid, id) = (user.user.id, body.0.id);
    state
        .db
        .write(move |conn| super::mark_read(conn, uid, id).map(|_| ()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

//! The Alertmanager webhook route over [`super::receive`].

use actix_web::{web, HttpResponse};

use super::{receive, Notification};
use crate::api::ApiJson;
use crate::auth::AlertSender;
use crate::http_error::ApiError;
use crate::state::AppState;

/// `POST /api/v1/alerts/alertmanager`
#[utoipa::path(post, path = "/api/v1/alerts/alertmanager", tag = "integrations", request_body = Notification, responses((status = 201, body = super::Outcome, description = "a new incident"), (status = 200, body = super::Outcome), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn alertmanager(
    state: web::Data<AppState>,
    sender: AlertSender,
    body: ApiJson<Notification>,
) -> Result<HttpResponse, ApiError> {
    let actor = sender.0.actor();
    let n = body.0;
    let outcome = state
        .db
        .write(move |conn| receive(conn, &n, &actor))
        .await?;
    Ok(if outcome.created {
        HttpResponse::Created().json(outcome)
    } else {
        HttpResponse::Ok().json(outcome)
    })
}

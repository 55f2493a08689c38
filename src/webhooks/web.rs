//! `/admin/webhooks`: register hooks (the secret is shown on the page so it can be copied
//! into the receiver), enable, disable, delete, and the delivery log.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::EVENTS;
use crate::auth::csrf::{NoFields, SessionForm};
use crate::auth::{ensure, CurrentUser, Permission};
use crate::error::AppError;
use crate::state::AppState;
use crate::time::date_hhmm;
use crate::web::{render_status, see_other, Layout};

pub struct HookRow {
    pub id: i32,
    pub url: String,
    pub secret: String,
    pub events: String,
    pub active: bool,
    /// Slack / Mattermost format.
    pub chat: bool,
}

pub struct DeliveryRow {
    pub id: i32,
    pub hook: i32,
    pub event: String,
    pub status: String,
    pub attempts: i32,
    pub last: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    hooks: Vec<HookRow>,
    deliveries: Vec<DeliveryRow>,
    events: &'static [(&'static str, &'static str)],
    error: Option<String>,
    url: String,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<AppError>,
    url: String,
) -> Result<HttpResponse, AppError> {
    let (hooks, deliveries) = state
        .db
        .read(|conn| Ok((super::list(conn)?, super::recent_deliveries(conn, 50)?)))
        .await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let view = WebhooksPage {
        layout: Layout::new(user, "admin", "Webhooks"),
        hooks: hooks
            .into_iter()
            .map(|h| HookRow {
                id: h.id,
                url: h.url,
                secret: h.secret,
                events: h.events.replace(',', ", "),
                active: h.active,
                chat: h.format == super::HookFormat::Chat,
            })
            .collect(),
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryRow {
                id: d.id,
                hook: d.webhook_id,
                event: d.event,
                status: d.status,
                attempts: d.attempts,
                last: match (d.last_status, d.last_error.is_empty()) {
                    (Some(s), true) => format!("HTTP {s}"),
                    (_, false) => d.last_error,
                    (None, true) => String::new(),
                },
                created: date_hhmm(d.created_at),
            })
            .collect(),
        events: EVENTS,
        error: error.map(|e| e.public_message()),
        url,
    };
    let mut res = render_status(status, &view)?;
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// `GET /admin/webhooks`
pub async fn list_webhooks(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Administer)?;
    page(&state, &user, None, String::new()).await
}

/// `POST /admin/webhooks` (the form sends each event as its own `event_<name>` checkbox).
pub async fn create_webhook(
    state: web::Data<AppState>,
    form: SessionForm<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let url = data.get("url").cloned().unwrap_or_default();
    let events: Vec<String> = EVENTS
        .iter()
        .filter(|(e, _)| data.contains_key(&format!("event_{e}")))
        .map(|(e, _)| e.to_string())
        .collect();
    let u = url.clone();
    let restricted_too = data.contains_key("restricted_too");
    let format = match data.get("format").map(String::as_str) {
        Some("chat") => super::HookFormat::Chat,
        _ => super::HookFormat::Hindsight,
    };
    let allow_private = state.config.webhook_allow_private;
    let result = async {
        // Checked here, before the write: resolving the host is slow (DNS), and only for
        // someone who may create hooks at all.
        actor.require(crate::auth::Permission::Administer)?;
        let target = super::validate_url(&url)?;
        web::block(move || super::target::check(&target, allow_private)).await??;
        state
            .db
            .write(move |conn| super::create(conn, &u, &events, format, restricted_too, &actor))
            .await
    };
    match result.await {
        Ok(_) => Ok(see_other("/admin/webhooks")),
        Err(e) => page(&state, &user, Some(e.shown_on_form()?), url).await,
    }
}

#[derive(Deserialize)]
pub struct ToggleForm {
    active: String,
}

/// `POST /admin/webhooks/{id}/active`
pub async fn toggle_webhook(
    state: web::Data<AppState>,
    id: web::Path<i32>,
    form: SessionForm<ToggleForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm {
        user: _,
        data,
        actor,
    } = form;
    let id = id.into_inner();
    let active = data.active == "true";
    state
        .db
        .write(move |conn| super::set_active(conn, id, active, &actor))
        .await?;
    Ok(see_other("/admin/webhooks"))
}

/// `POST /admin/webhooks/{id}/delete`
pub async fn delete_webhook(
    state: web::Data<AppState>,
    id: web::Path<i32>,
    form: SessionForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let actor = form.actor;
    state
        .db
        .write(move |conn| super::delete(conn, id, &actor))
        .await?;
    Ok(see_other("/admin/webhooks"))
}

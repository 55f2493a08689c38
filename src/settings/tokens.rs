//! `/settings/tokens`: create (shown once), list and revoke API tokens. Admins see and
//! revoke everyone's.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::{NoFields, SessionForm};
use crate::auth::{tokens, CurrentUser, Permission};
use crate::error::AppError;
use crate::state::AppState;
use crate::time::rfc3339;
use crate::web::{render_status, see_other, Layout};

pub struct TokenRow {
    pub id: i32,
    pub name: String,
    pub prefix: String,
    /// `full`, or `alerts` for an alert-intake token.
    pub scope: &'static str,
    pub owner: String,
    pub created_iso: String,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "settings/tokens.html")]
struct TokensPage {
    layout: Layout,
    rows: Vec<TokenRow>,
    new_token: Option<String>,
    show_owner: bool,
    error: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    user: &CurrentUser,
    new_token: Option<String>,
    error: Option<AppError>,
) -> Result<HttpResponse, AppError> {
    let is_admin = user.user.role.allows(Permission::Administer);
    let owner = (!is_admin).then_some(user.user.id);
    let rows = state.db.read(move |conn| tokens::list(conn, owner)).await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let zone = user.user.zone();
    let page = TokensPage {
        layout: Layout::new(user, "tokens", "API tokens"),
        rows: rows
            .into_iter()
            .map(|(t, owner)| TokenRow {
                id: t.id,
                name: t.name,
                prefix: t.prefix,
                scope: t.scope.as_str(),
                owner,
                created_iso: rfc3339(t.created_at),
                created: zone.date_hhmm(t.created_at),
                last_used: t
                    .last_used_at
                    .map(|t| zone.date_hhmm(t))
                    .unwrap_or_else(|| "never".into()),
                revoked: t.revoked_at.is_some(),
            })
            .collect(),
        new_token,
        show_owner: is_admin,
        error: error.map(|e| e.public_message()),
    };
    let mut res = render_status(status, &page)?;
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// `GET /settings/tokens`
pub async fn list_tokens(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    tokens_page(&state, &user, None, None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
}

/// `POST /settings/tokens`: the new token is shown on this response only (no-store).
pub async fn create_token(
    state: web::Data<AppState>,
    form: SessionForm<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let owner = user.user.clone();
    let result = state
        .db
        .write(move |conn| {
            tokens::create(conn, &owner, &data.name, tokens::TokenScope::Full, &actor)
        })
        .await;
    match result {
        Ok(secret) => tokens_page(&state, &user, Some(secret), None).await,
        Err(e) => tokens_page(&state, &user, None, Some(e.shown_on_form()?)).await,
    }
}

/// `POST /settings/tokens/{id}/revoke`
pub async fn revoke_token(
    state: web::Data<AppState>,
    id: web::Path<i32>,
    form: SessionForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, actor, .. } = form;
    let owner = (!user.user.role.allows(Permission::Administer)).then_some(user.user.id);
    let id = id.into_inner();
    state
        .db
        .write(move |conn| tokens::revoke(conn, id, owner, &actor))
        .await?;
    Ok(see_other("/settings/tokens"))
}

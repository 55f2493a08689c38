//! `/settings/password`: change your own password. The current one is required (checked
//! with the login throttle, so a borrowed session cannot guess it), the new one must pass
//! the password policy, and every other session of the user ends.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::SessionForm;
use crate::auth::{password, throttle, users, CurrentUser};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{render_status, see_other, FormError, Layout};

#[derive(Template)]
#[template(path = "settings/password.html")]
struct PasswordPage {
    layout: Layout,
    layout_username: String,
    changed: bool,
    error: Option<String>,
    error_field: String,
}

fn page(
    user: &CurrentUser,
    changed: bool,
    error: Option<AppError>,
) -> Result<HttpResponse, AppError> {
    let error = FormError::from(error);
    let view = PasswordPage {
        layout: Layout::new(user, "password", "Change your password"),
        layout_username: user.user.username.clone(),
        changed,
        error_field: error.field,
        error: error.message,
    };
    render_status(error.status, &view)
}

#[derive(Deserialize)]
pub struct ChangedQuery {
    #[serde(default)]
    changed: Option<String>,
}

/// `GET /settings/password`
pub async fn password_page(
    user: CurrentUser,
    query: web::Query<ChangedQuery>,
) -> Result<HttpResponse, AppError> {
    page(&user, query.changed.is_some(), None)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// `POST /settings/password`
pub async fn change_password(
    state: web::Data<AppState>,
    form: SessionForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let username = user.user.username.clone();
    let ip = actor.ip.clone();
    let result = async {
        let (name, from) = (username.clone(), ip.clone());
        let attempt = state
            .db
            .write(move |conn| throttle::begin(conn, &name, &from))
            .await?;
        let name = username.clone();
        let stored = state
            .db
            .read(move |conn| Ok(users::find_by_username(conn, &name)?.map(|u| u.password_hash)))
            .await?
            .unwrap_or_default();
        // Both argon2 runs (the check and the new hash) on the blocking pool, outside writes.
        let PasswordForm {
            current_password,
            password: new,
            password_confirm,
        } = data;
        if !web::block(move || password::verify(&current_password, &stored)).await? {
            return Err(AppError::invalid(
                "current_password",
                "The current password is wrong.",
            ));
        }
        // The right current password is no failed attempt, whatever the new one.
        state
            .db
            .write(move |conn| throttle::succeeded(conn, attempt))
            .await?;
        if new != password_confirm {
            return Err(AppError::invalid(
                "password_confirm",
                "The two new passwords differ.",
            ));
        }
        let hash = web::block(move || password::validated_hash(&new, "password")).await??;
        let keep = user.session_id;
        state
            .db
            .write(move |conn| users::change_own_password(conn, &actor, &hash, keep))
            .await
    }
    .await;
    match result {
        Ok(()) => Ok(see_other("/settings/password?changed=1")),
        Err(e @ AppError::Invalid { .. }) => page(&user, false, Some(e)),
        Err(e @ AppError::TooManyRequests { .. }) => {
            let field = AppError::invalid("current_password", e.public_message());
            let mut res = page(&user, false, Some(field))?;
            *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            e.add_retry_after(&mut res);
            Ok(res)
        }
        Err(e) => Err(e),
    }
}

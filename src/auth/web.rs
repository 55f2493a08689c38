//! Sign-in, sign-out and first-run setup pages.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::csrf::{pre_session_token, NoFields, PublicForm, SessionForm};
use super::extract::{self, client_ip, safe_next, user_agent, MaybeUser};
use super::session;
use super::users::{self, NewUser};
use super::{password, setup, throttle, Role};
use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{render_status, see_other, Layout};

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    username: String,
    next: String,
    error: Option<String>,
    /// (provider name, start link) when single sign-on is configured.
    sso: Option<(String, String)>,
    /// Password sign-in is on (off: only break-glass accounts, behind a fold).
    passwords: bool,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn with_cookie(
    mut res: HttpResponse,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> HttpResponse {
    if let Some(c) = cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

/// `GET /login`
pub async fn login_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: MaybeUser,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(query.next.as_deref());
    if user.0.is_some() {
        return Ok(see_other(&next));
    }
    login_page_with(&req, &state, StatusCode::OK, None, next)
}

/// The sign-in page with an optional error (single sign-on failures come back here).
pub fn login_page_with(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    error: Option<String>,
    next: String,
) -> Result<HttpResponse, AppError> {
    let (csrf, cookie) = pre_session_token(req, state.config.secure_cookies);
    let page = LoginPage {
        layout: Layout::anonymous("Sign in", csrf),
        username: String::new(),
        sso: sso_link(state, &next),
        passwords: state.config.password_login,
        next,
        error,
    };
    Ok(with_cookie(render_status(status, &page)?, cookie))
}

/// "Sign in with …" and where it starts, when single sign-on is configured.
fn sso_link(state: &AppState, next: &str) -> Option<(String, String)> {
    let oidc = state.oidc.as_deref()?;
    let link = format!(
        "/auth/oidc/start?next={}",
        percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
    );
    Some((oidc.config.name.clone(), link))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// `POST /login`: the same answer for an unknown user and a wrong password.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PublicForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.0;
    let next = safe_next(form.next.as_deref());
    let ip = client_ip(&req);
    let agent = user_agent(&req);
    let username = form.username.trim().to_lowercase();
    let password = form.password;
    let attempt_user = username.clone();
    let result = async {
        // Counted (as a failure until proven otherwise) before the password is checked.
        let attempt = {
            let (name, ip) = (attempt_user.clone(), ip.clone());
            state
                .db
                .write(move |conn| throttle::begin(conn, &name, &ip))
                .await?
        };
        let user = {
            let name = attempt_user.clone();
            state
                .db
                .read(move |conn| users::find_by_username(conn, &name))
                .await?
        };
        // The hash check is slow by design: on the blocking pool, outside any write.
        // With password sign-in off, only break-glass accounts may use one (and everyone
        // else gets the same answer as a wrong password).
        let passwords_on = state.config.password_login;
        let (user, verified) = web::block(move || {
            let verified = password_signs_in(user.as_ref(), &password, passwords_on);
            (user, verified)
        })
        .await?;
        state
            .db
            .write(move |conn| match user.filter(|_| verified) {
                Some(u) => {
                    throttle::succeeded(conn, attempt)?;
                    let token = session::start(conn, u.id, &ip, &agent)?;
                    audit::record(
                        conn,
                        &Actor::user(&u, &ip),
                        audit::Action::SessionLogin,
                        "user",
                        &u.username,
                        "",
                    )?;
                    Ok(Some(token))
                }
                None => Ok(None),
            })
            .await
    }
    .await;
    let (csrf, cookie) = pre_session_token(&req, state.config.secure_cookies);
    let failed = |status: StatusCode, message: String| -> Result<HttpResponse, AppError> {
        let page = LoginPage {
            layout: Layout::anonymous("Sign in", csrf.clone()),
            username: username.clone(),
            sso: sso_link(&state, &next),
            passwords: state.config.password_login,
            next: next.clone(),
            error: Some(message),
        };
        Ok(with_cookie(render_status(status, &page)?, cookie.clone()))
    };
    match result {
        Ok(Some(token)) => {
            let mut res = see_other(&next);
            let _ = res.add_cookie(&extract::session_cookie(token, state.config.secure_cookies));
            Ok(res)
        }
        Ok(None) if !state.config.password_login => failed(
            StatusCode::UNAUTHORIZED,
            "Password sign-in is off here: use single sign-on. (Break-glass admins: wrong username or password.)".into(),
        ),
        Ok(None) => failed(
            StatusCode::UNAUTHORIZED,
            "Wrong username or password.".into(),
        ),
        Err(e @ AppError::TooManyRequests { .. }) => {
            let mut res = failed(StatusCode::TOO_MANY_REQUESTS, e.public_message())?;
            e.add_retry_after(&mut res);
            Ok(res)
        }
        Err(e) => Err(e),
    }
}

/// `POST /logout`
/// Whether `password` signs `user` in. Always one argon2 check, also for an unknown
/// username, so response times do not tell which usernames exist.
fn password_signs_in(user: Option<&users::User>, password: &str, passwords_on: bool) -> bool {
    match user {
        Some(u) => {
            password::verify(password, &u.password_hash)
                && !u.disabled
                // Break-glass means an admin now: made by the CLI or setup link and
                // demoted since, they sign in like everyone else.
                && (passwords_on || (u.break_glass && u.role == Role::Admin))
        }
        None => {
            password::verify_dummy(password);
            false
        }
    }
}

pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: SessionForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let token = req
        .cookie(session::COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let actor = form.actor;
    let id_token = state
        .db
        .write(move |conn| {
            let id_token = session::end(conn, &token)?;
            audit::record(
                conn,
                &actor,
                audit::Action::SessionLogout,
                "user",
                &actor.name,
                "",
            )?;
            Ok(id_token)
        })
        .await?;
    // A single sign-on session also ends at the provider, when it offers that.
    let target = crate::auth::oidc::logout::target(&state, id_token).await;
    let mut res = see_other(&target);
    let _ = res.add_cookie(&extract::removal_cookie(state.config.secure_cookies));
    Ok(res)
}

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    layout: Layout,
    token: String,
    username: String,
    display_name: String,
    error: Option<String>,
    error_field: String,
}

#[derive(Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

/// `GET /setup?token=…`: the first-admin form, while the one-time token is valid.
pub async fn setup_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<SetupQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.token.clone().unwrap_or_default();
    let check = token.clone();
    let valid = state
        .db
        .read(move |conn| setup::is_valid(conn, &check))
        .await?;
    if !valid {
        return Err(AppError::Gone(
            "This setup link has been used or has expired. Sign in, or ask an admin for an account (hindsight user create).".into(),
        ));
    }
    let (csrf, cookie) = pre_session_token(&req, state.config.secure_cookies);
    let page = SetupPage {
        layout: Layout::anonymous("Set up hindsight", csrf),
        token,
        username: String::new(),
        display_name: String::new(),
        error: None,
        error_field: String::new(),
    };
    Ok(with_cookie(render_status(StatusCode::OK, &page)?, cookie))
}

#[derive(Deserialize, Clone)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// `POST /setup`: creates the first admin and signs them in.
pub async fn complete_setup(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PublicForm<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.0;
    let ip = client_ip(&req);
    let agent = user_agent(&req);
    // Hashing is slow: on the blocking pool, before the write.
    let submitted = form.clone();
    let validated = web::block(move || {
        let new = NewUser::new(
            &submitted.username,
            &submitted.display_name,
            Role::Admin,
            &submitted.password,
        )?;
        if submitted.password != submitted.password_confirm {
            return Err(AppError::invalid(
                "password_confirm",
                "The two passwords differ.",
            ));
        }
        Ok(new)
    })
    .await
    .map_err(AppError::from)
    .and_then(|r| r);
    let token = form.token.clone();
    let result = async {
        let new = validated?;
        state
            .db
            .write(move |conn| {
                let user = setup::complete(conn, &token, &new, &ip)?;
                session::start(conn, user.id, &ip, &agent)
            })
            .await
    }
    .await;
    match result {
        Ok(session_token) => {
            let mut res = see_other("/");
            let _ = res.add_cookie(&extract::session_cookie(
                session_token,
                state.config.secure_cookies,
            ));
            Ok(res)
        }
        Err(AppError::Invalid { field, message }) => {
            let (csrf, cookie) = pre_session_token(&req, state.config.secure_cookies);
            let page = SetupPage {
                layout: Layout::anonymous("Set up hindsight", csrf),
                token: form.token,
                username: form.username,
                display_name: form.display_name,
                error: Some(message),
                error_field: field,
            };
            Ok(with_cookie(
                render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)?,
                cookie,
            ))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(hash: &str, disabled: bool, break_glass: bool) -> users::User {
        let at = chrono::NaiveDateTime::default();
        users::User {
            id: crate::ids::UserId(1),
            username: "sam".into(),
            display_name: "Sam".into(),
            role: Role::Responder,
            password_hash: hash.into(),
            disabled,
            created_at: at,
            updated_at: at,
            time_zone: "UTC".into(),
            email: None,
            break_glass,
        }
    }

    /// Counts the argon2 checks one sign-in attempt runs, and its answer.
    fn attempt(user: Option<&users::User>, given: &str, passwords_on: bool) -> (u64, bool) {
        let before = password::checks_on_this_thread();
        let ok = password_signs_in(user, given, passwords_on);
        (password::checks_on_this_thread() - before, ok)
    }

    /// An unknown username spends exactly the hash check a wrong password spends (so its
    /// answer takes as long), and only the right password of an enabled account signs in.
    #[test]
    fn every_attempt_costs_one_password_check() {
        let hash = password::hash("correct horse battery").unwrap();
        let sam = user(&hash, false, false);
        assert_eq!(attempt(None, "correct horse battery", true), (1, false));
        assert_eq!(attempt(Some(&sam), "wrong", true), (1, false));
        assert_eq!(
            attempt(Some(&sam), "correct horse battery", true),
            (1, true)
        );
        let disabled = user(&hash, true, false);
        assert_eq!(
            attempt(Some(&disabled), "correct horse battery", true),
            (1, false)
        );
        // Password sign-in off: only break-glass accounts, same cost for everyone.
        assert_eq!(
            attempt(Some(&sam), "correct horse battery", false),
            (1, false)
        );
        let glass = users::User {
            role: Role::Admin,
            ..user(&hash, false, true)
        };
        assert_eq!(
            attempt(Some(&glass), "correct horse battery", false),
            (1, true)
        );
        // Demoted since it was made: no longer break-glass.
        let demoted = user(&hash, false, true);
        assert_eq!(
            attempt(Some(&demoted), "correct horse battery", false),
            (1, false)
        );
    }
}

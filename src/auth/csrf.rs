//! CSRF protection for every state-changing form.
//!
//! Signed-in forms carry the session's random token (synchronizer pattern); the login and
//! setup forms, which have no session yet, carry a token that must equal a random
//! `hindsight_csrf` cookie (double submit). Handlers take [`SessionForm`] or [`PublicForm`]
//! instead of `web::Form`, so no form can skip the check.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{random_token, secrets_match, CurrentUser};
use crate::audit::Actor;
use crate::error::AppError;

pub const PRE_SESSION_COOKIE: &str = "hindsight_csrf";
/// Forms are small; the import page has its own, larger limit.
pub const FORM_LIMIT: usize = crate::limits::FORM_BYTES;

#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    csrf_token: String,
}

/// A signed-in user's form whose CSRF token matched the session, and who is acting (the
/// user and their address, for the audit log).
pub struct SessionForm<T> {
    pub user: CurrentUser,
    pub data: T,
    pub actor: Actor,
}

/// A form from someone not signed in whose token matched the pre-session cookie.
pub struct PublicForm<T>(pub T);

async fn read_form<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: &mut Payload,
) -> Result<(String, T), AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(AppError::UnsupportedMediaType(
            "Forms must be sent as application/x-www-form-urlencoded.".into(),
        ));
    }
    // Over the route's limit (announced or streamed): 413; past the body deadline: 408.
    let body = web::Bytes::from_request(req, payload)
        .await
        .map_err(|e| crate::extract::body_error(&e, FORM_LIMIT))?;
    if body.len() > FORM_LIMIT {
        return Err(AppError::PayloadTooLarge(format!(
            "The form is larger than {} KiB.",
            FORM_LIMIT / 1024
        )));
    }
    // serde_urlencoded would turn bytes that are not UTF-8 into U+FFFD; refuse them instead
    // of storing altered text.
    // The text policy (`crate::text`) applies to every field.
    for pair in body.split(|b| *b == b'&') {
        let plus_as_space: Vec<u8> = pair
            .iter()
            .map(|b| if *b == b'+' { b' ' } else { *b })
            .collect();
        let decoded = percent_encoding::percent_decode(&plus_as_space)
            .decode_utf8()
            .map_err(|_| AppError::BadRequest("The form is not valid UTF-8.".into()))?;
        let (name, value) = decoded.split_once('=').unwrap_or(("form", &decoded));
        crate::text::check_field(name, value)?;
    }
    let token: Token = serde_urlencoded::from_bytes(&body).unwrap_or(Token {
        csrf_token: String::new(),
    });
    let data = serde_urlencoded::from_bytes(&body)
        .map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}.")))?;
    Ok((token.csrf_token, data))
}

fn forbidden() -> AppError {
    AppError::Forbidden(
        "The form's security token is missing or out of date. Go back, reload the page and try again.".into(),
    )
}

impl<T: DeserializeOwned + 'static> FromRequest for SessionForm<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            // Signed out meanwhile (expiry at 3 a.m.): back to the page the form was on after
            // signing in, where the page script restores what was typed.
            let user = CurrentUser::load(&req)
                .await?
                .ok_or_else(|| AppError::LoginRequired {
                    next: super::extract::next_for(&req),
                })?;
            crate::access::visible::settled(&req).await;
            let (token, data) = read_form(&req, &mut payload).await?;
            if !secrets_match(&token, &user.csrf_token) {
                return Err(forbidden());
            }
            let actor = Actor::user(&user.user, &super::extract::client_ip(&req));
            Ok(SessionForm { user, data, actor })
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for PublicForm<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let (token, data) = read_form(&req, &mut payload).await?;
            let cookie = req
                .cookie(PRE_SESSION_COOKIE)
                .map(|c| c.value().to_string());
            match cookie {
                Some(c) if !c.is_empty() && secrets_match(&token, &c) => Ok(PublicForm(data)),
                _ => Err(forbidden()),
            }
        })
    }
}

/// The pre-session token for a login or setup page, and the cookie to set when it is new.
pub fn pre_session_token(req: &HttpRequest, secure: bool) -> (String, Option<Cookie<'static>>) {
    if let Some(c) = req.cookie(PRE_SESSION_COOKIE) {
        if c.value().len() == 64 {
            return (c.value().to_string(), None);
        }
    }
    let token = random_token(32);
    let cookie = Cookie::build(PRE_SESSION_COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish();
    (token, Some(cookie))
}

/// An empty form (buttons that only carry the CSRF token).
#[derive(Deserialize)]
pub struct NoFields {}

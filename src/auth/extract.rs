//! Who is asking: the request extractors for a signed-in browser ([`CurrentUser`],
//! [`MaybeUser`]) and an API token ([`ApiUser`]), the session cookie, and the client's
//! address. The HTTP side of `session` and `tokens`.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::session::{lookup, settle, Lookup, ABSOLUTE, COOKIE};
use super::tokens::{self, mark_used};
use super::{CurrentUser, User};
use crate::audit::Actor;
use crate::error::{ApiError, AppError};
use crate::state::AppState;

/// The session cookie for a new session.
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(CookieDuration::seconds(ABSOLUTE.num_seconds()))
        .finish()
}

/// A cookie that clears the session cookie.
pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie(String::new(), secure);
    c.make_removal();
    c
}

/// Where to send someone after login: the page they asked for when it is local.
pub fn next_for(req: &HttpRequest) -> String {
    if req.method() == actix_web::http::Method::GET {
        req.uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into())
    } else {
        "/".into()
    }
}

/// Accepts only same-site paths (`/x`, not `//host` or `/\host`), against open redirects.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and newlines from a URL and read `\` as `/`, so "/\t/evil" or
        // "/\\evil" would leave the site: a path here has neither.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains(|c: char| c == '\\' || c.is_control()) =>
        {
            n.to_string()
        }
        _ => "/".into(),
    }
}

impl CurrentUser {
    /// Loads the session for a request (cached in the request's extensions).
    pub async fn load(req: &HttpRequest) -> Result<Option<CurrentUser>, AppError> {
        if let Some(found) = req.extensions().get::<Option<CurrentUser>>() {
            return Ok(found.clone());
        }
        let found = match req.cookie(COOKIE) {
            Some(c) if !c.value().is_empty() => {
                let token = c.value().to_string();
                let state = AppState::of(req)?;
                let found = state.db.read(move |conn| lookup(conn, &token)).await?;
                let needs_write =
                    matches!(found, Lookup::Dead(_) | Lookup::Live { touch: true, .. });
                let found = if needs_write {
                    state
                        .db
                        .write(move |conn| settle(conn, &found).map(|()| found))
                        .await?
                } else {
                    found
                };
                match found {
                    Lookup::Live { user, .. } => Some(user),
                    Lookup::Dead(_) | Lookup::Unknown => None,
                }
            }
            _ => None,
        };
        req.extensions_mut().insert(found.clone());
        Ok(found)
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            CurrentUser::load(&req)
                .await?
                .ok_or_else(|| AppError::LoginRequired {
                    next: next_for(&req),
                })
        })
    }
}

/// The signed-in user when there is one (login page, error pages).
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeUser(CurrentUser::load(&req).await?)) })
    }
}

/// The peer address, for throttling and the audit log. Proxies' forwarding headers are not
/// trusted: anyone could set them.
pub fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

pub fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Shortcut for handlers that need the app state from an `HttpRequest`.
pub fn state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    AppState::of(req)
}

/// The user of an API request, from `Authorization: Bearer <token>`.
#[derive(Clone, Debug)]
pub struct ApiUser {
    pub user: User,
    pub ip: String,
}

impl ApiUser {
    pub fn actor(&self) -> Actor {
        Actor::user(&self.user, &self.ip)
    }
}

impl FromRequest for ApiUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let header = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let Some(secret) = header
                .strip_prefix("Bearer ")
                .map(str::trim)
                .filter(|s| !s.is_empty())
            else {
                return Err(AppError::Unauthorized(
                    "Send an API token as `Authorization: Bearer <token>`.".into(),
                )
                .into());
            };
            let secret = secret.to_string();
            let state = AppState::of(&req)?;
            let found = state
                .db
                .read(move |conn| tokens::lookup(conn, &secret))
                .await?;
            match found {
                Some((id, user, due)) => {
                    if due {
                        state.db.write(move |conn| mark_used(conn, id)).await?;
                    }
                    Ok(ApiUser {
                        user,
                        ip: client_ip(&req),
                    })
                }
                None => Err(
                    AppError::Unauthorized("The API token is unknown or revoked.".into()).into(),
                ),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        for hostile in [
            "//evil.example/x",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\u{0}/evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            " /incidents",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(
            safe_next(Some("/incidents?status=open")),
            "/incidents?status=open"
        );
        assert_eq!(safe_next(Some("/tasks#due")), "/tasks#due");
    }
}

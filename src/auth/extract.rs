//! Who is asking: the request extractors for a signed-in browser ([`CurrentUser`],
//! [`MaybeUser`]) and an API token ([`ApiUser`]), the session cookie, and the client's
//! address. The HTTP side of `session` and `tokens`.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use std::rc::Rc;
use tokio::sync::OnceCell;

use super::session::{lookup, settle, Lookup, ABSOLUTE, COOKIE};
use super::tokens::{self, mark_used, TokenScope};
use super::{CurrentUser, User};
use crate::audit::Actor;
use crate::error::AppError;
use crate::http_error::ApiError;
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

/// Where to send someone after login: the page they asked for; for a form posted after
/// the session ended (expiry at 3 a.m.), the page it was posted from (its `Referer`, when
/// it is this site's), where the page script restores what was typed.
pub fn next_for(req: &HttpRequest) -> String {
    if req.method() == actix_web::http::Method::GET {
        return req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
    }
    let own_host = req.connection_info().host().to_string();
    let path = req
        .headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .filter(|u| {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            u.host_str().map(|h| format!("{h}{port}")) == Some(own_host.clone())
        })
        .map(|u| u.path().to_string());
    safe_next(path.as_deref())
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

/// A value worked out once per request and shared by every extractor that asks for it,
/// even while the first is still waiting for the database (actix polls a handler's
/// extractors together): the asker is looked up once, however many extractors need them.
fn once_per_request<T: 'static>(req: &HttpRequest) -> Rc<OnceCell<T>> {
    if let Some(cell) = req.extensions().get::<Rc<OnceCell<T>>>() {
        return Rc::clone(cell);
    }
    let cell = Rc::new(OnceCell::new());
    req.extensions_mut().insert(Rc::clone(&cell));
    cell
}

impl CurrentUser {
    /// Loads the session for a request (once per request).
    pub async fn load(req: &HttpRequest) -> Result<Option<CurrentUser>, AppError> {
        let cell = once_per_request::<Option<CurrentUser>>(req);
        let found = cell.get_or_try_init(|| load_session(req)).await?;
        Ok(found.clone())
    }
}

async fn load_session(req: &HttpRequest) -> Result<Option<CurrentUser>, AppError> {
    let Some(c) = req.cookie(COOKIE).filter(|c| !c.value().is_empty()) else {
        return Ok(None);
    };
    let token = c.value().to_string();
    let state = AppState::of(req)?;
    let found = state.db.read(move |conn| lookup(conn, &token)).await?;
    let needs_write = matches!(found, Lookup::Dead(_) | Lookup::Live { touch: true, .. });
    let found = if needs_write {
        state
            .db
            .write(move |conn| settle(conn, &found).map(|()| found))
            .await?
    } else {
        found
    };
    Ok(match found {
        Lookup::Live { user, .. } => Some(user),
        Lookup::Dead(_) | Lookup::Unknown => None,
    })
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

/// The client's address, for throttling, the audit log and request logs: the peer, unless
/// the peer is a trusted proxy (`HINDSIGHT_TRUSTED_PROXIES`); then the nearest address in
/// its forwarding headers that is not itself a trusted proxy. Anyone can write those
/// headers, so they count only as far as trusted proxies wrote them.
pub fn client_ip(req: &HttpRequest) -> String {
    // Runs for every request (the request log names the client): borrow, don't copy.
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map_or(&[][..], |s| &s.config.trusted_proxies[..]);
    client_address(req.peer_addr().map(|a| a.ip()), req.headers(), trusted)
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

fn client_address(
    peer: Option<std::net::IpAddr>,
    headers: &header::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<std::net::IpAddr> {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    // `Forwarded: for=…` (RFC 7239) when present, else `X-Forwarded-For`; nearest last.
    let forwarded: Vec<String> = headers
        .get_all(header::FORWARDED)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                key.eq_ignore_ascii_case("for")
                    .then(|| value.trim().trim_matches('"').to_string())
            })
        })
        .collect();
    let hops: Vec<String> = if forwarded.is_empty() {
        headers
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .collect()
    } else {
        forwarded
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// An address as forwarding headers write it: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:80`.
fn parse_hop(hop: &str) -> Option<std::net::IpAddr> {
    hop.parse()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| hop.trim_start_matches('[').split(']').next()?.parse().ok())
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

/// The secret of `Authorization: Bearer <token>`, if the request carries one.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The token of an API request and what it may do (looked up once per request): 401
/// without a token or with an unknown or revoked one.
async fn load_token(req: &HttpRequest) -> Result<(ApiUser, TokenScope), AppError> {
    let Some(secret) = bearer(req) else {
        return Err(AppError::Unauthorized(
            "Send an API token as `Authorization: Bearer <token>`.".into(),
        ));
    };
    let secret = secret.to_string();
    let cell = once_per_request::<Option<(ApiUser, TokenScope)>>(req);
    let found = cell
        .get_or_try_init(|| async {
            let state = AppState::of(req)?;
            let found = state
                .db
                .read(move |conn| tokens::lookup(conn, &secret))
                .await?;
            let Some(found) = found else {
                return Ok::<_, AppError>(None);
            };
            if found.due {
                let id = found.id;
                state.db.write(move |conn| mark_used(conn, id)).await?;
            }
            let user = ApiUser {
                user: found.user,
                ip: client_ip(req),
            };
            Ok(Some((user, found.scope)))
        })
        .await?;
    found
        .clone()
        .ok_or_else(|| AppError::Unauthorized("The API token is unknown or revoked.".into()))
}

impl ApiUser {
    /// The user of a full-scope token; 403 for an alert-intake token, which may do nothing
    /// but post alerts.
    pub async fn load(req: &HttpRequest) -> Result<ApiUser, AppError> {
        match load_token(req).await? {
            (user, TokenScope::Full) => Ok(user),
            (_, TokenScope::Alerts) => Err(AppError::Forbidden(
                "This token has the alerts scope: it may only post alerts.".into(),
            )),
        }
    }
}

impl FromRequest for ApiUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(ApiUser::load(&req).await?) })
    }
}

/// The sender of an alert (Alertmanager): a token with the alerts scope, made by an admin.
/// A person's token gets 403, so that knowing an alert group's key gives nobody a way into
/// an incident.
pub struct AlertSender(pub ApiUser);

impl FromRequest for AlertSender {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match load_token(&req).await? {
                (user, TokenScope::Alerts) => Ok(AlertSender(user)),
                (_, TokenScope::Full) => Err(AppError::Forbidden(
                    "Alert intake needs a token with the alerts scope (an admin makes one: hindsight token create --username NAME --scope alerts).".into(),
                )
                .into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{client_address, safe_next};
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

    #[test]
    fn forwarding_headers_count_only_through_trusted_proxies() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
            }
            h
        };
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        let spoofed = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]);
        // Not from a proxy: the headers are anyone's words.
        assert_eq!(
            client_address(Some(ip("198.51.100.1")), &spoofed, &trusted),
            Some(ip("198.51.100.1"))
        );
        // From the proxy: the nearest untrusted hop, not the client-written one before it.
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &spoofed, &trusted),
            Some(ip("203.0.113.7"))
        );
        let chain = headers(&[("x-forwarded-for", "203.0.113.7, 10.0.0.9")]);
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &chain, &trusted),
            Some(ip("203.0.113.7"))
        );
        let rfc = headers(&[("forwarded", "for=\"[2001:db8::1]:4711\";proto=https")]);
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &rfc, &trusted),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &HeaderMap::new(), &[]),
            Some(ip("10.0.0.2"))
        );
    }

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

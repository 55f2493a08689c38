//! Browser sessions, stored in the database (so replicas share them): a random token in an
//! HttpOnly, SameSite=Lax cookie, its SHA-256 in the `sessions` table, idle and absolute
//! expiry, and a fresh session (new id) at every login.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use futures_util::future::LocalBoxFuture;

use super::{random_token, token_hash, User};
use crate::db::schema::{sessions, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
use crate::time::now;

pub const COOKIE: &str = "hindsight_session";
/// A session unused this long ends.
pub const IDLE: Duration = Duration::hours(12);
/// A session ends this long after login, used or not.
pub const ABSOLUTE: Duration = Duration::days(7);
/// last_seen_at is written at most this often (keeps reads from becoming writes).
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// The signed-in user of an HTML request, with the session's CSRF token.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: User,
    pub session_id: i32,
    pub csrf_token: String,
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
struct NewSession<'a> {
    token_hash: &'a str,
    user_id: i32,
    csrf_token: &'a str,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    ip: &'a str,
    user_agent: &'a str,
}

/// Starts a session for `user_id`; returns the cookie token (shown to nobody else).
pub fn start(
    conn: &mut DbConnection,
    user_id: i32,
    ip: &str,
    user_agent: &str,
) -> Result<String, AppError> {
    let token = random_token(32);
    let csrf = random_token(32);
    let t = now();
    diesel::insert_into(sessions::table)
        .values(NewSession {
            token_hash: &token_hash(&token),
            user_id,
            csrf_token: &csrf,
            created_at: t,
            last_seen_at: t,
            expires_at: t + ABSOLUTE,
            ip,
            user_agent: &user_agent.chars().take(300).collect::<String>(),
        })
        .execute(conn)?;
    Ok(token)
}

/// Ends the session with this cookie token, if any.
pub fn end(conn: &mut DbConnection, token: &str) -> Result<(), AppError> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_hash(token))))
        .execute(conn)?;
    Ok(())
}

/// What a session cookie leads to.
pub enum Lookup {
    /// A live session; `touch` when its idle clock is due to be moved on.
    Live {
        user: CurrentUser,
        touch: bool,
    },
    /// Expired, idle too long, or its user disabled: to be deleted.
    Dead(i32),
    Unknown,
}

/// Finds the session of `token` (reads only; [`settle`] writes what the answer needs).
pub fn lookup(conn: &mut DbConnection, token: &str) -> Result<Lookup, AppError> {
    let t = now();
    let found: Option<(i32, String, NaiveDateTime, NaiveDateTime, User)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash(token)))
        .select((
            sessions::id,
            sessions::csrf_token,
            sessions::last_seen_at,
            sessions::expires_at,
            User::as_select(),
        ))
        .first(conn)
        .optional()?;
    let Some((id, csrf_token, last_seen, expires, user)) = found else {
        return Ok(Lookup::Unknown);
    };
    if user.disabled || expires <= t || last_seen + IDLE <= t {
        return Ok(Lookup::Dead(id));
    }
    Ok(Lookup::Live {
        user: CurrentUser {
            user,
            session_id: id,
            csrf_token,
        },
        touch: last_seen + TOUCH_EVERY <= t,
    })
}

/// Records what a [`lookup`] found: moves a live session's idle clock on, deletes a dead one.
pub fn settle(conn: &mut DbConnection, found: &Lookup) -> Result<(), AppError> {
    match found {
        Lookup::Live { user, touch: true } => {
            diesel::update(sessions::table.find(user.session_id))
                .set(sessions::last_seen_at.eq(now()))
                .execute(conn)?;
        }
        Lookup::Dead(id) => {
            diesel::delete(sessions::table.find(*id)).execute(conn)?;
        }
        Lookup::Live { touch: false, .. } | Lookup::Unknown => {}
    }
    Ok(())
}

/// Deletes sessions past their expiry (run at start-up).
pub fn purge_expired(conn: &mut DbConnection) -> Result<usize, AppError> {
    let t = now();
    Ok(diesel::delete(
        sessions::table.filter(
            sessions::expires_at
                .le(t)
                .or(sessions::last_seen_at.le(t - IDLE)),
        ),
    )
    .execute(conn)?)
}

/// The session cookie for a new session.
pub fn cookie(token: String, secure: bool) -> Cookie<'static> {
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
    let mut c = cookie(String::new(), secure);
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

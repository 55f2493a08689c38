//! Browser sessions, stored in the database (so replicas share them): a random token in an
//! HttpOnly, SameSite=Lax cookie, its SHA-256 in the `sessions` table, idle and absolute
//! expiry, and a fresh session (new id) at every login. The cookie and the request
//! extractors are in [`super::extract`].

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{random_token, token_hash, User};
use crate::db::schema::{sessions, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::UserId;
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
    /// Unread notifications, for the header (read with the session, no extra query).
    pub unread: i64,
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
struct NewSession<'a> {
    token_hash: &'a str,
    user_id: UserId,
    csrf_token: &'a str,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    ip: &'a str,
    user_agent: &'a str,
    id_token: Option<&'a str>,
}

/// Starts a session for `user_id`; returns the cookie token (shown to nobody else).
pub fn start(
    conn: &mut DbConnection,
    user_id: UserId,
    ip: &str,
    user_agent: &str,
) -> Result<String, AppError> {
    start_with(conn, user_id, ip, user_agent, None)
}

/// [`start`] for a single sign-on, keeping the provider's ID token for its logout.
pub fn start_with(
    conn: &mut DbConnection,
    user_id: UserId,
    ip: &str,
    user_agent: &str,
    id_token: Option<&str>,
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
            id_token,
        })
        .execute(conn)?;
    Ok(token)
}

/// Ends the session with this cookie token, if any; returns its single sign-on ID token.
pub fn end(conn: &mut DbConnection, token: &str) -> Result<Option<String>, AppError> {
    let mine = sessions::table.filter(sessions::token_hash.eq(token_hash(token)));
    let id_token: Option<String> = mine
        .clone()
        .select(sessions::id_token)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten();
    diesel::delete(mine).execute(conn)?;
    crate::db::access_changed(conn)?;
    Ok(id_token)
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
    use crate::db::schema::notifications;
    let unread = notifications::table
        .filter(notifications::user_id.eq(users::id))
        .filter(notifications::read_at.is_null())
        .count()
        .single_value();
    let found: Option<(i32, String, NaiveDateTime, NaiveDateTime, User, Option<i64>)> =
        sessions::table
            .inner_join(users::table)
            .filter(sessions::token_hash.eq(token_hash(token)))
            .select((
                sessions::id,
                sessions::csrf_token,
                sessions::last_seen_at,
                sessions::expires_at,
                User::as_select(),
                unread,
            ))
            .first(conn)
            .optional()?;
    let Some((id, csrf_token, last_seen, expires, user, unread)) = found else {
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
            unread: unread.unwrap_or(0),
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

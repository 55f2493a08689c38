//! Who a chat user is in hindsight: remembered once known, found by the e-mail the
//! platform has verified (exactly one active hindsight user with that address), or
//! connected by a one-time link the command's answer offers, which its owner opens signed
//! in to hindsight. Until then a chat user may read `help` and nothing else.

use chrono::Duration;
use diesel::prelude::*;

use super::Platform;
use crate::audit::{self, Actor};
use crate::auth::users::User;
use crate::db::functions::lower;
use crate::db::schema::{chat_connect_links, chat_users, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::time::now;

/// How long a connect link works.
pub const LINK_FOR: Duration = Duration::minutes(30);

/// The hindsight user a chat user was mapped to (not if disabled since).
pub fn known(
    conn: &mut DbConnection,
    platform: Platform,
    chat_user: &str,
) -> Result<Option<User>, AppError> {
    Ok(chat_users::table
        .inner_join(users::table)
        .filter(chat_users::platform.eq(platform.as_str()))
        .filter(chat_users::chat_user_id.eq(chat_user))
        .filter(users::disabled.eq(false))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

fn remember(
    conn: &mut DbConnection,
    platform: Platform,
    chat_user: &str,
    user: &User,
) -> Result<(), AppError> {
    diesel::delete(
        chat_users::table
            .filter(chat_users::platform.eq(platform.as_str()))
            .filter(chat_users::chat_user_id.eq(chat_user)),
    )
    .execute(conn)?;
    diesel::insert_into(chat_users::table)
        .values((
            chat_users::platform.eq(platform.as_str()),
            chat_users::chat_user_id.eq(chat_user),
            chat_users::user_id.eq(user.id),
            chat_users::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Maps a chat user by the e-mail their platform verified: only when exactly one active
/// hindsight user has that address.
pub fn by_email(
    conn: &mut DbConnection,
    platform: Platform,
    chat_user: &str,
    email: &str,
) -> Result<Option<User>, AppError> {
    let email = email.trim().to_lowercase();
    let found: Vec<User> = users::table
        .filter(users::disabled.eq(false))
        .filter(lower(users::email.assume_not_null()).eq(&email))
        .limit(2)
        .select(User::as_select())
        .load(conn)?;
    let [user] = found.as_slice() else {
        return Ok(None);
    };
    remember(conn, platform, chat_user, user)?;
    Ok(Some(user.clone()))
}

/// A one-time link for a chat user to connect their hindsight account: the token.
pub fn connect_link(
    conn: &mut DbConnection,
    platform: Platform,
    chat_user: &str,
    chat_name: &str,
) -> Result<String, AppError> {
    let token = crate::auth::random_token(32);
    let t = now();
    diesel::delete(chat_connect_links::table.filter(chat_connect_links::expires_at.lt(t)))
        .execute(conn)?;
    diesel::insert_into(chat_connect_links::table)
        .values((
            chat_connect_links::token_hash.eq(crate::auth::token_hash(&token)),
            chat_connect_links::platform.eq(platform.as_str()),
            chat_connect_links::chat_user_id.eq(chat_user),
            chat_connect_links::chat_name.eq(chat_name.chars().take(100).collect::<String>()),
            chat_connect_links::expires_at.eq(t + LINK_FOR),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Who a connect link is for: (platform, chat user id, chat name), while it works.
pub fn pending(
    conn: &mut DbConnection,
    token: &str,
) -> Result<Option<(Platform, String, String)>, AppError> {
    let row: Option<(String, String, String)> = chat_connect_links::table
        .find(crate::auth::token_hash(token))
        .filter(chat_connect_links::expires_at.gt(now()))
        .select((
            chat_connect_links::platform,
            chat_connect_links::chat_user_id,
            chat_connect_links::chat_name,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(p, id, name)| Some((p.parse().ok()?, id, name))))
}

/// Connects the chat user a link is for to `user` (the link is used up); `false` when it
/// no longer works.
pub fn connect(
    conn: &mut DbConnection,
    token: &str,
    user: &User,
    actor: &Actor,
) -> Result<bool, AppError> {
    crate::db::transaction(conn, |conn| {
        let Some((platform, chat_user, chat_name)) = pending(conn, token)? else {
            return Ok(false);
        };
        diesel::delete(chat_connect_links::table.find(crate::auth::token_hash(token)))
            .execute(conn)?;
        remember(conn, platform, &chat_user, user)?;
        audit::record(
            conn,
            actor,
            audit::Action::ChatConnect,
            "user",
            &user.username,
            &format!("{} user {chat_user} ({chat_name})", platform.label()),
        )?;
        Ok(true)
    })
}

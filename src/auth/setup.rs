//! First run: while there are no users, a one-time setup token (logged as a URL at start-up)
//! lets someone create the first admin.

use chrono::Duration;
use diesel::prelude::*;

use super::users::{self, NewUser};
use super::{random_token, token_hash, Role, User};
use crate::audit::Actor;
use crate::db::schema::{setup_tokens, users as users_table};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::time::now;

const LIFETIME: Duration = Duration::hours(24);

/// With no users yet, issues a setup token and returns it; otherwise `None`.
pub fn issue_if_needed(conn: &mut DbConnection) -> Result<Option<String>, AppError> {
    if users::count(conn)? > 0 {
        return Ok(None);
    }
    let token = random_token(24);
    let t = now();
    diesel::insert_into(setup_tokens::table)
        .values((
            setup_tokens::token_hash.eq(token_hash(&token)),
            setup_tokens::created_at.eq(t),
            setup_tokens::expires_at.eq(t + LIFETIME),
        ))
        .execute(conn)?;
    Ok(Some(token))
}

/// True when `token` is unused, unexpired, and no user exists yet.
pub fn is_valid(conn: &mut DbConnection, token: &str) -> Result<bool, AppError> {
    if users::count(conn)? > 0 {
        return Ok(false);
    }
    let live: i64 = setup_tokens::table
        .filter(setup_tokens::token_hash.eq(token_hash(token)))
        .filter(setup_tokens::used_at.is_null())
        .filter(setup_tokens::expires_at.gt(now()))
        .count()
        .get_result(conn)?;
    Ok(live > 0)
}

/// Creates the first admin with a setup token, once; the token and all others die with it.
pub fn complete(
    conn: &mut DbConnection,
    token: &str,
    new: &NewUser,
    ip: &str,
) -> Result<User, AppError> {
    crate::db::transaction(conn, |conn| {
        if !is_valid(conn, token)? {
            return Err(AppError::Forbidden(
                "This setup link has been used or has expired. Sign in instead.".into(),
            ));
        }
        diesel::update(setup_tokens::table.filter(setup_tokens::used_at.is_null()))
            .set(setup_tokens::used_at.eq(Some(now())))
            .execute(conn)?;
        let admin = NewUser {
            role: Role::Admin,
            ..new.clone()
        };
        let user = users::create(conn, &admin, &Actor::system(ip))?;
        // The first admin is break-glass, like those made with the CLI.
        users::set_break_glass(conn, user.id)?;
        // Recheck inside the transaction: two concurrent setups must not both succeed.
        let count: i64 = users_table::table.count().get_result(conn)?;
        if count != 1 {
            return Err(AppError::Conflict(
                "Setup was completed by someone else.".into(),
            ));
        }
        Ok(user)
    })
}

//! API tokens: random, shown once, stored as SHA-256, revocable, acting with their user's
//! role within their [`TokenScope`]. [`super::extract::ApiUser`] authenticates
//! `Authorization: Bearer` on `/api/v1` for full tokens, [`super::extract::AlertSender`] for
//! alert-intake tokens: a handler takes one or the other, so no scope check can be forgotten.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{random_token, token_hash, User};
use crate::audit::{self, Actor};
use crate::db::schema::{api_tokens, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::UserId;
use crate::time::now;

/// The longest token label.
pub const NAME_MAX: usize = 100;

crate::text_enum!(
    /// What a token may do. `full`: everything its user's role allows, except alert intake
    /// (tokens made before scopes existed have this). `alerts`: alert intake
    /// (`POST /api/v1/alerts/alertmanager`) and nothing else; made by an admin
    /// (`hindsight token create --scope alerts`).
    TokenScope {
        Full => "full",
        Alerts => "alerts",
    }
);

/// Tokens look like `hs_` + 64 hex digits; the prefix makes leaked tokens easy to grep for.
const PREFIX: &str = "hs_";

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i32,
    pub user_id: UserId,
    pub name: String,
    pub token_hash: String,
    pub prefix: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub scope: TokenScope,
}

#[derive(Insertable)]
#[diesel(table_name = api_tokens)]
struct NewToken<'a> {
    user_id: UserId,
    name: &'a str,
    token_hash: &'a str,
    prefix: &'a str,
    created_at: NaiveDateTime,
    scope: TokenScope,
}

/// Creates a token for `user`; returns the secret (the only time it exists in clear).
pub fn create(
    conn: &mut DbConnection,
    user: &User,
    name: &str,
    scope: TokenScope,
    actor: &Actor,
) -> Result<String, AppError> {
    if scope == TokenScope::Alerts {
        actor.require(super::Permission::Administer)?;
    }
    let name = name.trim();
    if name.chars().count() > NAME_MAX {
        return Err(AppError::invalid(
            "name",
            format!("Token name must be at most {NAME_MAX} characters."),
        ));
    }
    let name = if name.is_empty() { "unnamed" } else { name };
    let secret = format!("{PREFIX}{}", random_token(32));
    crate::db::transaction(conn, |conn| {
        diesel::insert_into(api_tokens::table)
            .values(NewToken {
                user_id: user.id,
                name,
                token_hash: &token_hash(&secret),
                prefix: &secret[..PREFIX.len() + 6],
                created_at: now(),
                scope,
            })
            .execute(conn)?;
        let what = format!("{name} ({scope})");
        audit::record(
            conn,
            actor,
            audit::Action::TokenCreate,
            "user",
            &user.username,
            &what,
        )
    })?;
    Ok(secret)
}

/// Tokens with their owners' usernames: one user's, or everyone's (admins).
pub fn list(
    conn: &mut DbConnection,
    user_id: Option<UserId>,
) -> Result<Vec<(ApiToken, String)>, AppError> {
    let mut query = api_tokens::table
        .inner_join(users::table)
        .select((ApiToken::as_select(), users::username))
        .order(api_tokens::id.desc())
        .into_boxed();
    if let Some(id) = user_id {
        query = query.filter(api_tokens::user_id.eq(id));
    }
    Ok(query.load(conn)?)
}

/// Revokes a token; `owner` limits it to that user's tokens (non-admins).
pub fn revoke(
    conn: &mut DbConnection,
    id: i32,
    owner: Option<UserId>,
    actor: &Actor,
) -> Result<(), AppError> {
    crate::db::transaction(conn, |conn| {
        let token: ApiToken = api_tokens::table
            .find(id)
            .select(ApiToken::as_select())
            .first(conn)
            .optional()?
            .filter(|t| owner.is_none_or(|o| o == t.user_id))
            .ok_or_else(|| AppError::NotFound("token".into()))?;
        if token.revoked_at.is_none() {
            diesel::update(api_tokens::table.find(id))
                .set(api_tokens::revoked_at.eq(Some(now())))
                .execute(conn)?;
            crate::db::access_changed(conn)?;
            audit::record(
                conn,
                actor,
                audit::Action::TokenRevoke,
                "token",
                &id.to_string(),
                &token.name,
            )?;
        }
        Ok(())
    })
}

/// A live token of an enabled user, as [`lookup`] finds it.
pub struct Found {
    pub id: i32,
    pub user: User,
    pub scope: TokenScope,
    /// Whether `last_used_at` is due for an update (it is kept to the minute).
    pub due: bool,
}

/// The live token with this secret, if any. Reads only.
pub fn lookup(conn: &mut DbConnection, secret: &str) -> Result<Option<Found>, AppError> {
    // The lookup is by hash, so no comparison on the secret itself can leak timing.
    let found: Option<(ApiToken, User)> = api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(token_hash(secret)))
        .select((ApiToken::as_select(), User::as_select()))
        .first(conn)
        .optional()?;
    Ok(found.and_then(|(token, user)| {
        let live = token.revoked_at.is_none() && !user.disabled;
        let due = token
            .last_used_at
            .is_none_or(|l| l + Duration::minutes(1) <= now());
        live.then_some(Found {
            id: token.id,
            user,
            scope: token.scope,
            due,
        })
    }))
}

/// Records that token `id` was used now.
pub fn mark_used(conn: &mut DbConnection, id: i32) -> Result<(), AppError> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used_at.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}

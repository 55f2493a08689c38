//! User rows and the rules for creating and changing them.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{password, Role};
use crate::audit::{self, Actor};
use crate::db::schema::{sessions, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::UserId;
use crate::time::now;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// IANA name; pages show and read times in it.
    pub time_zone: String,
    /// Where e-mail notifications go (none: in-app only).
    pub email: Option<String>,
    /// Made with the CLI or the setup link: may sign in with a password even when password
    /// sign-in is off, while an admin (see `auth::web`).
    pub break_glass: bool,
}

impl User {
    /// The user's time zone (UTC when the stored name is unknown to this build).
    pub fn zone(&self) -> crate::time::Zone {
        crate::time::Zone::parse(&self.time_zone).unwrap_or(crate::time::Zone::UTC)
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUserRow<'a> {
    username: &'a str,
    display_name: &'a str,
    role: Role,
    password_hash: &'a str,
    disabled: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    email: Option<&'a str>,
}

/// A validated request to create a user, its password already hashed.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub email: Option<String>,
}

/// Usernames are lowercase ASCII letters, digits, `.`, `_` and `-`, 1–64 long.
pub fn normalize_username(raw: &str) -> Result<String, AppError> {
    let name = raw.trim().to_lowercase();
    if name.is_empty() {
        return Err(AppError::invalid("username", "Username is required."));
    }
    if name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(AppError::invalid(
            "username",
            "Username may use only letters, digits, '.', '_' and '-' (at most 64).",
        ));
    }
    Ok(name)
}

pub fn parse_role(raw: &str) -> Result<Role, AppError> {
    raw.trim()
        .parse()
        .map_err(|e| AppError::invalid("role", format!("Role {e}.")))
}

impl NewUser {
    /// Validates and hashes the password: slow (argon2), so call it from a blocking context
    /// and never inside a database write.
    pub fn new(
        username: &str,
        display_name: &str,
        role: Role,
        password: &str,
    ) -> Result<Self, AppError> {
        let username = normalize_username(username)?;
        let display_name = display_name.trim();
        if display_name.chars().count() > 100 {
            return Err(AppError::invalid(
                "display_name",
                "Display name must be at most 100 characters.",
            ));
        }
        let password_hash = password::validated_hash(password, "password")?;
        Ok(NewUser {
            display_name: if display_name.is_empty() {
                username.clone()
            } else {
                display_name.to_string()
            },
            username,
            role,
            password_hash,
            email: None,
        })
    }

    /// With an e-mail address (checked; blank for none).
    pub fn with_email(mut self, email: &str) -> Result<Self, AppError> {
        self.email = crate::mail::validate_address(email)?;
        Ok(self)
    }
}

/// Whether `username` is a team's name (any case): people and teams share one namespace,
/// so that an escalation or task given to a name reaches exactly who it names.
pub fn is_team_name(conn: &mut DbConnection, username: &str) -> Result<bool, AppError> {
    use crate::db::functions::lower;
    use crate::db::schema::teams;
    let n: i64 = teams::table
        .filter(lower(teams::name).eq(username.to_lowercase()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Inserts the user (refused when the username is taken, by a user or a team).
pub fn create(conn: &mut DbConnection, new: &NewUser, actor: &Actor) -> Result<User, AppError> {
    actor.require(super::Permission::Administer)?;
    crate::db::transaction(conn, |conn| {
        let taken: i64 = users::table
            .filter(users::username.eq(&new.username))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(AppError::invalid(
                "username",
                format!("The username “{}” is taken.", new.username),
            ));
        }
        if is_team_name(conn, &new.username)? {
            return Err(AppError::invalid(
                "username",
                format!(
                    "“{}” is a team's name; people and teams need different names.",
                    new.username
                ),
            ));
        }
        let t = now();
        let id: UserId = diesel::insert_into(users::table)
            .values(NewUserRow {
                username: &new.username,
                display_name: &new.display_name,
                role: new.role,
                password_hash: &new.password_hash,
                disabled: false,
                created_at: t,
                updated_at: t,
                email: new.email.as_deref(),
            })
            .returning(users::id)
            .get_result(conn)?;
        let user = find(conn, id)?;
        audit::record(
            conn,
            actor,
            audit::Action::UserCreate,
            "user",
            &user.username,
            &format!("role={}", user.role),
        )?;
        Ok(user)
    })
}

pub fn find_by_username(conn: &mut DbConnection, username: &str) -> Result<Option<User>, AppError> {
    Ok(users::table
        .filter(users::username.eq(username.trim().to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConnection, id: UserId) -> Result<User, AppError> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound("user".into()))
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<User>, AppError> {
    Ok(users::table
        .order(users::username.asc())
        .select(User::as_select())
        .load(conn)?)
}

/// Usernames of enabled users, alphabetically; `writers` keeps only those who may write
/// (for pickers of commanders, owners and reviewers).
pub fn active_usernames(conn: &mut DbConnection, writers: bool) -> Result<Vec<String>, AppError> {
    // Two columns, not whole rows: pages ask for this on every view.
    let rows: Vec<(String, Role)> = users::table
        .filter(users::disabled.eq(false))
        .order(users::username.asc())
        .select((users::username, users::role))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, role)| !writers || role.allows(super::Permission::Write))
        .map(|(name, _)| name)
        .collect())
}

pub fn count(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(users::table.count().get_result(conn)?)
}

/// Username by id for the given ids, in one query.
pub fn usernames(
    conn: &mut DbConnection,
    ids: &[UserId],
) -> Result<HashMap<UserId, String>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(UserId, String)> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::username))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Resolves an optional username to an id; an unknown name is a 422 on `field`.
pub fn resolve(
    conn: &mut DbConnection,
    username: Option<&str>,
    field: &str,
) -> Result<Option<UserId>, AppError> {
    let Some(name) = username.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    match find_by_username(conn, name)? {
        Some(user) => Ok(Some(user.id)),
        None => Err(AppError::invalid(
            field,
            format!("No user is named “{name}”."),
        )),
    }
}

/// What an admin may change on a user.
pub struct UserChanges {
    pub role: Role,
    pub disabled: bool,
    pub display_name: String,
    /// The address (checked with `mail::validate_address`); `None` clears it.
    pub email: Option<String>,
}

/// Marks a user break-glass (see [`User::break_glass`]).
pub fn set_break_glass(conn: &mut DbConnection, id: UserId) -> Result<(), AppError> {
    diesel::update(users::table.find(id))
        .set(users::break_glass.eq(true))
        .execute(conn)?;
    Ok(())
}

/// Sets a user's own e-mail address (checked; blank clears it).
pub fn set_email(
    conn: &mut DbConnection,
    id: UserId,
    raw: &str,
    actor: &Actor,
) -> Result<(), AppError> {
    let email = crate::mail::validate_address(raw)?;
    let user = find(conn, id)?;
    diesel::update(users::table.find(id))
        .set((users::email.eq(&email), users::updated_at.eq(now())))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        audit::Action::UserEmail,
        "user",
        &user.username,
        "",
    )
}

/// Changes role, display name, e-mail and disabled flag; never leaves hindsight without an
/// active admin. Disabling ends the user's sessions.
pub fn update(
    conn: &mut DbConnection,
    id: UserId,
    changes: &UserChanges,
    actor: &Actor,
) -> Result<User, AppError> {
    actor.require(super::Permission::Administer)?;
    crate::db::transaction(conn, |conn| {
        let user = find(conn, id)?;
        let loses_admin = user.role == Role::Admin
            && !user.disabled
            && (changes.role != Role::Admin || changes.disabled);
        if loses_admin {
            let admins: i64 = users::table
                .filter(users::role.eq(Role::Admin))
                .filter(users::disabled.eq(false))
                .count()
                .get_result(conn)?;
            if admins <= 1 {
                return Err(AppError::invalid(
                    "role",
                    "hindsight needs at least one active admin.",
                ));
            }
        }
        let display_name = changes.display_name.trim();
        diesel::update(users::table.find(id))
            .set((
                users::role.eq(changes.role),
                users::disabled.eq(changes.disabled),
                users::display_name.eq(if display_name.is_empty() {
                    &user.username
                } else {
                    display_name
                }),
                users::email.eq(&changes.email),
                users::updated_at.eq(now()),
            ))
            .execute(conn)?;
        if changes.disabled {
            diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
        }
        if changes.disabled != user.disabled || changes.role != user.role {
            crate::db::access_changed(conn)?;
        }
        let detail = format!("role={} disabled={}", changes.role, changes.disabled);
        audit::record(
            conn,
            actor,
            audit::Action::UserUpdate,
            "user",
            &user.username,
            &detail,
        )?;
        find(conn, id)
    })
}

/// Sets a new password hash (from [`password::validated_hash`]) and ends the user's
/// sessions.
pub fn set_password(
    conn: &mut DbConnection,
    id: UserId,
    hash: &str,
    actor: &Actor,
) -> Result<(), AppError> {
    actor.require(super::Permission::Administer)?;
    crate::db::transaction(conn, |conn| {
        let user = find(conn, id)?;
        diesel::update(users::table.find(id))
            .set((users::password_hash.eq(hash), users::updated_at.eq(now())))
            .execute(conn)?;
        diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
        crate::db::access_changed(conn)?;
        audit::record(
            conn,
            actor,
            audit::Action::UserResetPassword,
            "user",
            &user.username,
            "",
        )
    })
}

/// Sets the acting user's own password hash (the caller has checked the current password)
/// and ends their other sessions; `keep_session` stays signed in.
pub fn change_own_password(
    conn: &mut DbConnection,
    actor: &Actor,
    hash: &str,
    keep_session: i32,
) -> Result<(), AppError> {
    let id = actor.user_id.ok_or_else(|| {
        AppError::Forbidden("Only a signed-in user can change their password.".into())
    })?;
    crate::db::transaction(conn, |conn| {
        let user = find(conn, id)?;
        diesel::update(users::table.find(id))
            .set((users::password_hash.eq(hash), users::updated_at.eq(now())))
            .execute(conn)?;
        diesel::delete(
            sessions::table
                .filter(sessions::user_id.eq(id))
                .filter(sessions::id.ne(keep_session)),
        )
        .execute(conn)?;
        crate::db::access_changed(conn)?;
        audit::record(
            conn,
            actor,
            audit::Action::UserChangePassword,
            "user",
            &user.username,
            "",
        )
    })
}

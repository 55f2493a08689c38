//! A verified identity from the provider, turned into a local user: found by the provider's
//! subject, or created on first sign-in (username from `preferred_username`, else the
//! e-mail, made unique; display name from `name`; role from the groups claim mapping, else
//! the default). Later sign-ins update the name and, when a role claim is configured, the
//! role. Users made this way have no password.

use diesel::prelude::*;

use super::OidcConfig;
use crate::audit::{self, Actor};
use crate::auth::users::{self, User};
use crate::auth::Role;
use crate::db::schema::users as users_table;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::UserId;
use crate::time::now;

/// Stored instead of a hash: no password ever verifies against it.
const NO_PASSWORD: &str = "!sso";

/// What the ID token said about who signed in.
#[derive(Clone, Debug)]
pub struct Identity {
    /// `issuer|sub`: unique across providers.
    pub subject: String,
    pub preferred_username: Option<String>,
    /// Only when the provider says it verified it (`email_verified: true`).
    pub email: Option<String>,
    pub name: Option<String>,
    /// The values of the role claim, if configured and present.
    pub groups: Option<Vec<String>>,
}

/// The role the groups map to (the highest of those matched), `None` without a claim.
fn mapped_role(config: &OidcConfig, groups: Option<&Vec<String>>) -> Option<Role> {
    config.role_claim.as_ref()?;
    let groups = groups?;
    let rank = |r: Role| match r {
        Role::Admin => 2,
        Role::Responder => 1,
        Role::Viewer => 0,
    };
    config
        .role_map
        .iter()
        .filter(|(g, _)| groups.iter().any(|have| have == g))
        .map(|(_, r)| *r)
        .max_by_key(|r| rank(*r))
        .or(Some(config.default_role))
}

/// A username the way local ones are made: lowercase letters, digits, `.`, `_`, `-`.
fn username_base(id: &Identity) -> String {
    let raw = id
        .preferred_username
        .clone()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| id.email.clone())
        .unwrap_or_else(|| "user".into());
    let cleaned: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(56)
        .collect();
    if cleaned.trim_matches('-').is_empty() {
        "user".into()
    } else {
        cleaned
    }
}

/// The claims pass the text policy forms do (no NUL or other control characters).
fn check_claims(id: &Identity) -> Result<(), AppError> {
    for (claim, value) in [
        ("preferred_username", &id.preferred_username),
        ("email", &id.email),
        ("name", &id.name),
    ] {
        if let Some(v) = value {
            crate::text::check_field(claim, v).map_err(|_| {
                AppError::Forbidden(format!(
                    "The identity provider's `{claim}` claim contains a control character; ask its administrator to correct it."
                ))
            })?;
        }
    }
    Ok(())
}

/// The local user for `id`, created or updated; refused when disabled or when a claim
/// breaks the text policy.
pub fn sign_in(
    conn: &mut DbConnection,
    config: &OidcConfig,
    id: &Identity,
    ip: &str,
) -> Result<User, AppError> {
    check_claims(id)?;
    let role = mapped_role(config, id.groups.as_ref());
    let email = id
        .email
        .as_deref()
        .and_then(|e| crate::mail::validate_address(e).ok().flatten());
    crate::db::transaction(conn, |conn| {
        let existing: Option<UserId> = users_table::table
            .filter(users_table::oidc_subject.eq(&id.subject))
            .select(users_table::id)
            .first(conn)
            .optional()?;
        let user_id = match existing {
            Some(user_id) => {
                let user = users::find(conn, user_id)?;
                if user.disabled {
                    return Err(AppError::Forbidden("This account is disabled.".into()));
                }
                let name = id.name.clone().unwrap_or(user.display_name);
                diesel::update(users_table::table.find(user_id))
                    .set((
                        users_table::display_name.eq(name.chars().take(100).collect::<String>()),
                        users_table::role.eq(role.unwrap_or(user.role)),
                        users_table::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
                user_id
            }
            None => {
                let base = username_base(id);
                let mut username = base.clone();
                let mut n = 1;
                // Unique among people and teams: a provider user called "DBA" must not
                // take the team's name (escalations to it would reach only them).
                while users::find_by_username(conn, &username)?.is_some()
                    || users::is_team_name(conn, &username)?
                {
                    n += 1;
                    username = format!("{base}-{n}");
                }
                let t = now();
                let display = id.name.clone().unwrap_or_else(|| username.clone());
                let role = role.unwrap_or(config.default_role);
                let user_id: UserId = diesel::insert_into(users_table::table)
                    .values((
                        users_table::username.eq(&username),
                        users_table::display_name.eq(display.chars().take(100).collect::<String>()),
                        users_table::role.eq(role),
                        users_table::password_hash.eq(NO_PASSWORD),
                        users_table::disabled.eq(false),
                        users_table::created_at.eq(t),
                        users_table::updated_at.eq(t),
                        users_table::email.eq(&email),
                        users_table::oidc_subject.eq(&id.subject),
                    ))
                    .returning(users_table::id)
                    .get_result(conn)?;
                audit::record(
                    conn,
                    &Actor::system(ip),
                    audit::Action::UserCreate,
                    "user",
                    &username,
                    &format!("role={role} via single sign-on"),
                )?;
                user_id
            }
        };
        users::find(conn, user_id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(preferred: Option<&str>, email: Option<&str>) -> Identity {
        Identity {
            subject: "i|s".into(),
            preferred_username: preferred.map(str::to_string),
            email: email.map(str::to_string),
            name: None,
            groups: None,
        }
    }

    #[test]
    fn usernames_come_from_the_claims_and_are_cleaned() {
        assert_eq!(username_base(&identity(Some("Ann.Lee"), None)), "ann.lee");
        assert_eq!(
            username_base(&identity(None, Some("ann+sre@example.com"))),
            "ann-sre-example.com"
        );
        assert_eq!(username_base(&identity(Some(" "), None)), "user");
    }

    #[test]
    fn the_highest_mapped_role_wins() {
        let config = OidcConfig {
            issuer: "https://id.example".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            scopes: vec![],
            default_role: Role::Viewer,
            role_claim: Some("groups".into()),
            role_map: vec![
                ("sre".into(), Role::Responder),
                ("ops-admins".into(), Role::Admin),
            ],
            name: "x".into(),
        };
        let groups = |g: &[&str]| Some(g.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            mapped_role(&config, groups(&["sre", "ops-admins"]).as_ref()),
            Some(Role::Admin)
        );
        assert_eq!(
            mapped_role(&config, groups(&["finance"]).as_ref()),
            Some(Role::Viewer)
        );
        assert_eq!(mapped_role(&config, None), None);
    }
}

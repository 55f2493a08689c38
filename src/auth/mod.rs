//! Accounts and access: users and roles, passwords, sessions, CSRF, API tokens, login
//! throttling and first-run setup. Who may do what is decided here, in [`Permission`].

pub mod csrf;
pub mod extract;
pub mod oidc;
pub mod password;
pub mod session;
pub mod setup;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod web;

pub use extract::{AlertSender, ApiUser};
pub use session::CurrentUser;
pub use users::User;

use crate::error::AppError;

crate::text_enum!(
    /// What a user may do: viewers read, responders write incidents, admins also manage.
    Role {
        Admin => "admin",
        Responder => "responder",
        Viewer => "viewer",
    }
);

/// The kinds of action routes ask permission for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    Read,
    /// Create and edit incidents and everything under them.
    Write,
    /// Delete records (root causes, tasks) where deletion is allowed at all.
    Delete,
    /// Users, everyone's tokens, the audit log.
    Administer,
}

impl Role {
    pub fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::Read => true,
            Permission::Write => matches!(self, Role::Admin | Role::Responder),
            Permission::Delete | Permission::Administer => self == Role::Admin,
        }
    }
}

/// Refuses with 403 when `user` lacks `permission`.
pub fn ensure(user: &User, permission: Permission) -> Result<(), AppError> {
    ensure_role(user.role, permission)
}

/// Refuses with 403 when `role` lacks `permission`.
pub fn ensure_role(role: Role, permission: Permission) -> Result<(), AppError> {
    if role.allows(permission) {
        Ok(())
    } else {
        let what = match permission {
            Permission::Read => "read",
            Permission::Write => "make changes",
            Permission::Delete => "delete records",
            Permission::Administer => "administer hindsight",
        };
        Err(AppError::Forbidden(format!(
            "Your role ({role}) may not {what}."
        )))
    }
}

/// A random secret, hex encoded (32 bytes = 256 bits unless told otherwise).
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// SHA-256 of a secret token, hex encoded: what the database stores instead of the token.
/// Tokens are 256-bit random, so a fast hash is enough (no guessing to slow down).
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares secrets in constant time.
pub fn secrets_match(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert!(Role::Viewer.allows(Permission::Read));
        assert!(!Role::Viewer.allows(Permission::Write));
        assert!(Role::Responder.allows(Permission::Write));
        assert!(!Role::Responder.allows(Permission::Administer));
        assert!(!Role::Responder.allows(Permission::Delete));
        assert!(Role::Admin.allows(Permission::Administer));
    }

    #[test]
    fn secrets() {
        assert!(secrets_match("abc", "abc"));
        assert!(!secrets_match("abc", "abd"));
        assert!(!secrets_match("abc", "ab"));
        assert_eq!(random_token(32).len(), 64);
        assert_ne!(token_hash("a"), token_hash("b"));
    }
}

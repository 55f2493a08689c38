//! argon2id password hashing with OWASP's minimum (19 MiB, 2 iterations, 1 lane).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 1024;

fn hasher() -> Argon2<'static> {
    // Explicit rather than Argon2::default() so a crate upgrade cannot weaken it silently.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password: at least [`MIN_LENGTH`] characters not counting spaces at either
/// end, at most [`MAX_LENGTH`], and not easy to guess (zxcvbn, the estimator Dropbox wrote
/// for this: common passwords, names, dates, keyboard patterns and repeats score low). The
/// field is named for form and API errors.
pub fn validate(password: &str, field: &str) -> Result<(), AppError> {
    if password.trim().chars().count() < MIN_LENGTH {
        return Err(AppError::invalid(
            field,
            format!(
                "Password must be at least {MIN_LENGTH} characters, not counting spaces at either end."
            ),
        ));
    }
    if password.chars().count() > MAX_LENGTH {
        return Err(AppError::invalid(
            field,
            format!("Password must be at most {MAX_LENGTH} characters."),
        ));
    }
    // The estimate grows fast with length; the first 100 characters tell enough.
    let head: String = password.chars().take(100).collect();
    let estimate = zxcvbn::zxcvbn(&head, &["hindsight"]);
    if estimate.score() < zxcvbn::Score::Three {
        let why = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        return Err(AppError::invalid(
            field,
            format!(
                "This password is too easy to guess{why}. Try a longer one, such as a few unrelated words."
            ),
        ));
    }
    Ok(())
}

/// Checks `password` against the policy and hashes it. Slow (argon2): call it from a
/// blocking context, never inside a database write.
pub fn validated_hash(password: &str, field: &str) -> Result<String, AppError> {
    validate(password, field)?;
    hash(password)
}

pub fn hash(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::unexpected)
}

/// True when `password` matches the stored PHC string.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => {
            #[cfg(test)]
            CHECKS.with(|c| c.set(c.get() + 1));
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        }
        Err(_) => false,
    }
}

/// Spends the same work as a real check, so an unknown user costs what a wrong password
/// costs (no user enumeration by timing).
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("not-a-real-password").unwrap_or_default());
    let _ = verify(password, stored);
}

#[cfg(test)]
thread_local! {
    /// argon2 checks run on this thread, for tests that prove a path spends one.
    static CHECKS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// argon2 checks run so far on the calling thread.
#[cfg(test)]
pub fn checks_on_this_thread() -> u64 {
    CHECKS.with(|c| c.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_owasp_parameters() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn refuses_short_padded_and_guessable_passwords() {
        assert!(validate("        ", "password").is_err(), "eight spaces");
        assert!(
            validate("  abc12  ", "password").is_err(),
            "short once trimmed"
        );
        let common = validate("password123", "password").unwrap_err();
        assert!(common.to_string().contains("too easy to guess"), "{common}");
        assert!(validate("hindsight2024", "password").is_err());
        assert!(validate("correct horse battery", "password").is_ok());
        assert!(validate(&"x".repeat(MAX_LENGTH + 1), "password").is_err());
    }
}

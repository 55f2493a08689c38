//! A signed-in user's own settings: API tokens and their password.

pub mod password;
pub mod tokens;

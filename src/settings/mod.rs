//! A signed-in user's own settings: API tokens, their password and their time zone.

pub mod password;
pub mod time_zone;
pub mod tokens;

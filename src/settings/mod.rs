//! A signed-in user's own settings: API tokens, their password, their time zone, and what
//! notifications reach them where.

pub mod api;
pub mod notifications;
pub mod password;
pub mod time_zone;
pub mod tokens;

//! Configuration: the only place that reads the environment (API.md, Configuration).

use crate::db::DbUrl;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: DbUrl,
    pub bind: String,
    pub base_url: String,
    pub secure_cookies: bool,
    /// First webhook retry delay; later ones double (`HINDSIGHT_WEBHOOK_RETRY_SECS`, 10).
    pub webhook_retry: std::time::Duration,
    /// How long a client may take to send a request's head (slow clients are cut off).
    pub request_timeout: std::time::Duration,
}

impl Config {
    /// Reads `DATABASE_URL`, `HINDSIGHT_BIND`, `HINDSIGHT_BASE_URL` and
    /// `HINDSIGHT_SECURE_COOKIES`; `bind` and `database_url` override them when given.
    pub fn from_env(database_url: Option<String>, bind: Option<String>) -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let database_url = database_url
            .or_else(|| var("DATABASE_URL"))
            .unwrap_or_else(|| "sqlite://hindsight.db".into());
        let bind = bind
            .or_else(|| var("HINDSIGHT_BIND"))
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let base_url = var("HINDSIGHT_BASE_URL")
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_string();
        let secure_cookies = match var("HINDSIGHT_SECURE_COOKIES").as_deref() {
            None | Some("0") | Some("false") | Some("no") => false,
            Some("1") | Some("true") | Some("yes") => true,
            Some(other) => {
                return Err(format!(
                    "HINDSIGHT_SECURE_COOKIES must be true or false, not `{other}`"
                ))
            }
        };
        let webhook_retry = match var("HINDSIGHT_WEBHOOK_RETRY_SECS") {
            None => 10,
            Some(v) => v.parse::<u64>().map_err(|_| {
                format!("HINDSIGHT_WEBHOOK_RETRY_SECS must be a whole number of seconds, not `{v}`")
            })?,
        };
        Ok(Config {
            webhook_retry: std::time::Duration::from_secs(webhook_retry),
            request_timeout: std::time::Duration::from_secs(5),
            database_url: DbUrl::parse(&database_url)?,
            bind,
            base_url,
            secure_cookies,
        })
    }
}

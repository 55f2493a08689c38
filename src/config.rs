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
    /// How long a client may take to send a request's body (`HINDSIGHT_BODY_TIMEOUT_SECS`,
    /// 30): a body trickled in a byte at a time holds a connection no longer than this.
    pub body_timeout: std::time::Duration,
    /// Webhooks may target private and local addresses (`HINDSIGHT_WEBHOOK_ALLOW_PRIVATE`).
    pub webhook_allow_private: bool,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` name the client
    /// (`HINDSIGHT_TRUSTED_PROXIES`: addresses or CIDR ranges, comma separated).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// When set, `/metrics` wants `Authorization: Bearer <this>` (`HINDSIGHT_METRICS_TOKEN`).
    pub metrics_token: Option<String>,
    /// Single sign-on (`HINDSIGHT_OIDC_*`).
    pub oidc: Option<crate::auth::oidc::OidcConfig>,
    /// `HINDSIGHT_PASSWORD_LOGIN`: off, only break-glass accounts sign in with a password.
    pub password_login: bool,
    /// SMTP for e-mail notifications; `None`: in-app only.
    pub mail: Option<crate::mail::MailConfig>,
    /// Bounds on live-update streams (see `live`).
    pub live: LiveLimits,
    /// How often each severity owes a stakeholder update (`HINDSIGHT_UPDATE_CADENCE`,
    /// default `SEV1=30m,SEV2=60m`).
    pub update_cadence: crate::incidents::updates::Cadence,
    /// Slack and Mattermost (`HINDSIGHT_SLACK_*`, `HINDSIGHT_MATTERMOST_*`).
    pub chat: crate::chat::config::ChatConfig,
    /// How long the status page's answers are served without checking for a new revision
    /// (1 s; tests use 0 to see each change at once).
    pub status_recheck: std::time::Duration,
    /// The largest attachment (`HINDSIGHT_MAX_ATTACHMENT`, bytes or `20MiB`; 20 MiB).
    pub max_attachment: usize,
}

/// How many live streams a server and a user may hold, and when a quiet one ends (the
/// browser reconnects at once, which checks the session again).
#[derive(Clone, Copy, Debug)]
pub struct LiveLimits {
    pub max_streams: usize,
    pub max_per_user: usize,
    pub idle: std::time::Duration,
    /// A comment line this often: proxies keep the connection, and a gone client is noticed
    /// (presence) at the next write.
    pub heartbeat: std::time::Duration,
}

/// `20MiB`, `512KiB`, `1048576`.
fn parse_size(raw: &str) -> Option<usize> {
    let raw = raw.trim();
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: usize = digits.parse().ok()?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1024,
        "mib" | "m" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(factor).filter(|n| *n > 0)
}

impl Config {
    /// Reads `DATABASE_URL`, `HINDSIGHT_BIND`, `HINDSIGHT_BASE_URL`,
    /// `HINDSIGHT_SECURE_COOKIES`, `HINDSIGHT_WEBHOOK_RETRY_SECS`,
    /// `HINDSIGHT_WEBHOOK_ALLOW_PRIVATE`, `HINDSIGHT_TRUSTED_PROXIES`,
    /// `HINDSIGHT_METRICS_TOKEN`, `HINDSIGHT_LIVE_*`, `HINDSIGHT_SMTP_URL` and
    /// `HINDSIGHT_MAIL_FROM`; `bind` and `database_url` override them when given.
    pub fn from_env(database_url: Option<String>, bind: Option<String>) -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        // Set but empty is a mistake (a missing secret in a deployment, say), not a request
        // for the default: an empty DATABASE_URL must not quietly create ./hindsight.db.
        let database_url = match (database_url, std::env::var("DATABASE_URL")) {
            (Some(url), _) => url,
            (None, Ok(url)) => url,
            (None, Err(_)) => "sqlite://hindsight.db".into(),
        };
        let bind = bind
            .or_else(|| var("HINDSIGHT_BIND"))
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let base_url = var("HINDSIGHT_BASE_URL")
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_string();
        let flag = |name: &str| match var(name).as_deref() {
            None | Some("0") | Some("false") | Some("no") => Ok(false),
            Some("1") | Some("true") | Some("yes") => Ok(true),
            Some(other) => Err(format!("{name} must be true or false, not `{other}`")),
        };
        let secure_cookies = flag("HINDSIGHT_SECURE_COOKIES")?;
        let webhook_allow_private = flag("HINDSIGHT_WEBHOOK_ALLOW_PRIVATE")?;
        let trusted_proxies = var("HINDSIGHT_TRUSTED_PROXIES")
            .unwrap_or_default()
            .split([',', ' '])
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                let s = s.trim();
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        format!("HINDSIGHT_TRUSTED_PROXIES: `{s}` is not an address or CIDR range")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let body_timeout = match var("HINDSIGHT_BODY_TIMEOUT_SECS") {
            None => 30,
            Some(v) => v.parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                format!("HINDSIGHT_BODY_TIMEOUT_SECS must be a whole number of seconds, not `{v}`")
            })?,
        };
        let number = |name: &str, default: u64| match var(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name} must be a whole number above 0, not `{v}`")),
        };
        let live = LiveLimits {
            max_streams: number("HINDSIGHT_LIVE_MAX_STREAMS", 10_000)? as usize,
            max_per_user: number("HINDSIGHT_LIVE_MAX_PER_USER", 20)? as usize,
            idle: std::time::Duration::from_secs(number("HINDSIGHT_LIVE_IDLE_SECS", 600)?),
            heartbeat: std::time::Duration::from_secs(number("HINDSIGHT_LIVE_HEARTBEAT_SECS", 5)?),
        };
        let webhook_retry = match var("HINDSIGHT_WEBHOOK_RETRY_SECS") {
            None => 10,
            Some(v) => v.parse::<u64>().map_err(|_| {
                format!("HINDSIGHT_WEBHOOK_RETRY_SECS must be a whole number of seconds, not `{v}`")
            })?,
        };
        let mail = var("HINDSIGHT_SMTP_URL")
            .map(|url| crate::mail::MailConfig::parse(&url, var("HINDSIGHT_MAIL_FROM").as_deref()))
            .transpose()?;
        let oidc = crate::auth::oidc::OidcConfig::from_env(&var)?;
        let password_login = match var("HINDSIGHT_PASSWORD_LOGIN") {
            None => true,
            Some(_) => flag("HINDSIGHT_PASSWORD_LOGIN")?,
        };
        if !password_login && oidc.is_none() {
            return Err(
                "HINDSIGHT_PASSWORD_LOGIN=false needs single sign-on (HINDSIGHT_OIDC_ISSUER)"
                    .into(),
            );
        }
        let update_cadence = match var("HINDSIGHT_UPDATE_CADENCE") {
            Some(raw) => crate::incidents::updates::Cadence::parse(&raw)?,
            None => Default::default(),
        };
        let chat = crate::chat::config::ChatConfig::from_vars(|name| var(name))?;
        let max_attachment = match var("HINDSIGHT_MAX_ATTACHMENT") {
            Some(raw) => parse_size(&raw).ok_or_else(|| {
                format!("HINDSIGHT_MAX_ATTACHMENT: expected bytes or e.g. 20MiB, not `{raw}`")
            })?,
            None => 20 * 1024 * 1024,
        };
        Ok(Config {
            max_attachment,
            chat,
            status_recheck: std::time::Duration::from_secs(1),
            update_cadence,
            oidc,
            password_login,
            mail,
            live,
            metrics_token: var("HINDSIGHT_METRICS_TOKEN"),
            webhook_allow_private,
            trusted_proxies,
            webhook_retry: std::time::Duration::from_secs(webhook_retry),
            request_timeout: std::time::Duration::from_secs(5),
            body_timeout: std::time::Duration::from_secs(body_timeout),
            database_url: DbUrl::parse(&database_url)?,
            bind,
            base_url,
            secure_cookies,
        })
    }
}

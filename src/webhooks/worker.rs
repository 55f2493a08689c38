//! The delivery worker: claims due deliveries, sends them, records the outcome, and queues
//! `task.overdue` events once per task and day. Runs on every server; claims make sure a
//! delivery is sent by one of them at a time.

use std::time::Duration as StdDuration;

use chrono::Duration;
use diesel::prelude::*;
use serde_json::json;

use super::{backoff, signature, Delivery, Webhook, MAX_ATTEMPTS};
use crate::db::schema::{tasks, webhook_deliveries, webhooks};
use crate::db::{self, Db, DbConnection};
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::tasks::TaskStatus;
use crate::time::now;

/// How long a claimed delivery stays claimed (a crashed sender's claims expire).
const CLAIM: Duration = Duration::seconds(60);

/// Up to `limit` due deliveries with their hooks. A read: the worker polls twice a second,
/// and an idle poll should not take the write lock.
fn due(conn: &mut DbConnection, limit: i64) -> Result<Vec<(Delivery, Webhook)>, AppError> {
    let t = now();
    Ok(webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(t))
        .filter(
            webhook_deliveries::locked_until
                .is_null()
                .or(webhook_deliveries::locked_until.lt(t)),
        )
        .order(webhook_deliveries::id.asc())
        .limit(limit)
        .select((Delivery::as_select(), Webhook::as_select()))
        .load(conn)?)
}

/// Claims what [`due`] found, each only if no server has claimed it meanwhile.
fn claim(
    conn: &mut DbConnection,
    due: Vec<(Delivery, Webhook)>,
) -> Result<Vec<(Delivery, Webhook)>, AppError> {
    let t = now();
    let mut claimed = Vec::new();
    for (d, hook) in due {
        // Everything `due` asked, again: a delivery another server made (and so unlocked)
        // since this one read it is not made twice.
        let won = diesel::update(
            webhook_deliveries::table
                .find(d.id)
                .filter(webhook_deliveries::status.eq("pending"))
                .filter(webhook_deliveries::next_attempt_at.le(t))
                .filter(
                    webhook_deliveries::locked_until
                        .is_null()
                        .or(webhook_deliveries::locked_until.lt(t)),
                ),
        )
        .set(webhook_deliveries::locked_until.eq(Some(t + CLAIM)))
        .execute(conn)?;
        if won == 1 {
            claimed.push((d, hook));
        }
    }
    Ok(claimed)
}

fn record(
    conn: &mut DbConnection,
    d: &Delivery,
    status: Option<u16>,
    error: &str,
    retry: Duration,
) -> Result<(), AppError> {
    let t = now();
    let ok = status.is_some_and(|s| (200..300).contains(&s));
    let attempts = d.attempts + 1;
    let state = if ok {
        "delivered"
    } else if attempts >= MAX_ATTEMPTS {
        "failed"
    } else {
        "pending"
    };
    diesel::update(webhook_deliveries::table.find(d.id))
        .set((
            webhook_deliveries::status.eq(state),
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::next_attempt_at.eq(t + backoff(d.attempts, retry)),
            webhook_deliveries::locked_until.eq(None::<chrono::NaiveDateTime>),
            webhook_deliveries::last_status.eq(status.map(i32::from)),
            webhook_deliveries::last_error.eq(error.chars().take(500).collect::<String>()),
            webhook_deliveries::delivered_at.eq(ok.then_some(t)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Queues `task.overdue` for tasks that went overdue and were not announced today.
pub fn queue_overdue(conn: &mut DbConnection) -> Result<(), AppError> {
    let today = now().date();
    db::transaction(conn, |conn| {
        type Overdue = (
            crate::ids::TaskId,
            crate::ids::IncidentId,
            String,
            Option<chrono::NaiveDate>,
            Option<crate::ids::UserId>,
            String,
        );
        let overdue: Vec<Overdue> = tasks::table
            .filter(tasks::status.eq_any(TaskStatus::OPEN.to_vec()))
            .filter(tasks::due_on.lt(today))
            .filter(tasks::overdue_notified_on.is_null())
            .select((
                tasks::id,
                tasks::incident_id,
                tasks::title,
                tasks::due_on,
                tasks::owner_id,
                tasks::team,
            ))
            .limit(100)
            .load(conn)?;
        for (id, incident_id, title, due, owner, team) in overdue {
            let due_text = due.map(|d| d.to_string());
            let data = json!({"task": id, "incident": IncidentKey(incident_id).to_string(), "title": title, "due_on": due_text});
            super::enqueue(conn, "task.overdue", data)?;
            let people = crate::notifications::task_people(conn, owner, &team)?;
            let label = crate::notifications::incident_label(conn, incident_id)?;
            crate::notifications::notify(
                conn,
                &people,
                crate::notifications::NotificationKind::TaskOverdue,
                &format!(
                    "Overdue since {}: {title} ({label})",
                    due_text.unwrap_or_default()
                ),
                &format!("/incidents/{}#tasks", IncidentKey(incident_id)),
                &crate::audit::Actor::system("overdue"),
            )?;
            diesel::update(tasks::table.find(id))
                .set(tasks::overdue_notified_on.eq(Some(today)))
                .execute(conn)?;
        }
        Ok(())
    })
}

async fn send(
    client: &awc::Client,
    d: &Delivery,
    hook: &Webhook,
    allow_private: bool,
    base_url: &str,
) -> (Option<u16>, String) {
    // Checked again at every send: a name can resolve elsewhere since it was saved.
    let url = hook.url.clone();
    let target = tokio::task::spawn_blocking(move || super::target::check(&url, allow_private));
    match target.await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return (None, super::target::REFUSED.into()),
        Err(e) => return (None, e.to_string()),
    }
    let timestamp = now().and_utc().timestamp();
    let body = match hook.format {
        super::HookFormat::Hindsight => d.payload.clone(),
        super::HookFormat::Chat => super::chat::message(&d.payload, base_url),
    };
    let request = client
        .post(&hook.url)
        .timeout(StdDuration::from_secs(10))
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("User-Agent", "hindsight-webhooks"))
        .insert_header(("X-Hindsight-Event", d.event.as_str()))
        .insert_header(("X-Hindsight-Delivery", d.id.to_string()))
        .insert_header(("X-Hindsight-Timestamp", timestamp.to_string()))
        .insert_header((
            "X-Hindsight-Signature",
            signature(&hook.secret, timestamp, &body),
        ));
    match request.send_body(body).await {
        Ok(res) => {
            let status = res.status().as_u16();
            let error = if res.status().is_success() {
                String::new()
            } else {
                format!("HTTP {status}")
            };
            (Some(status), error)
        }
        Err(e) => (None, e.to_string()),
    }
}

/// The webhook outbox (see [`crate::outbox`]): overdue tasks are queued as events,
/// deliveries go out signed over HTTP.
pub struct WebhookOutbox {
    client: awc::Client,
    allow_private: bool,
    base_url: String,
    retry: Duration,
}

/// A delivery's outcome: the HTTP status (none when no answer came), the error, and the
/// retry base for its backoff.
pub struct Answer {
    status: Option<u16>,
    error: String,
    retry: Duration,
}

impl crate::outbox::Outbox for WebhookOutbox {
    type Item = (Delivery, Webhook);
    type Outcome = Answer;
    const NAME: &'static str = "webhooks";

    fn queue_due(conn: &mut DbConnection) -> Result<(), AppError> {
        queue_overdue(conn)
    }

    fn due(conn: &mut DbConnection, limit: i64) -> Result<Vec<(Delivery, Webhook)>, AppError> {
        due(conn, limit)
    }

    fn claim(
        conn: &mut DbConnection,
        found: Vec<(Delivery, Webhook)>,
    ) -> Result<Vec<(Delivery, Webhook)>, AppError> {
        claim(conn, found)
    }

    async fn deliver(&self, (delivery, hook): &(Delivery, Webhook)) -> Answer {
        let (status, error) = send(
            &self.client,
            delivery,
            hook,
            self.allow_private,
            &self.base_url,
        )
        .await;
        if !error.is_empty() {
            tracing::info!(delivery = delivery.id, event = %delivery.event, %error, "webhook delivery failed; will retry");
        }
        Answer {
            status,
            error,
            retry: self.retry,
        }
    }

    fn record(
        conn: &mut DbConnection,
        (delivery, _): &(Delivery, Webhook),
        a: Answer,
    ) -> Result<(), AppError> {
        record(conn, delivery, a.status, &a.error, a.retry)
    }
}

/// Delivers webhooks until the server stops. It has a pool of its own, so its polling does
/// not show in the request-path query counter.
pub async fn run(db: Db, retry: StdDuration, allow_private: bool, base_url: String) {
    let outbox = WebhookOutbox {
        // Redirects are not followed: a public target could send the delivery inward.
        client: awc::Client::builder().disable_redirects().finish(),
        allow_private,
        base_url,
        retry: Duration::from_std(retry).unwrap_or(Duration::seconds(10)),
    };
    crate::outbox::run(db, outbox).await
}

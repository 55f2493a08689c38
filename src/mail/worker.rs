//! The mail worker: claims due messages (a conditional update, so each goes out from one
//! server), sends them, records the outcome with backoff, drops expired ones, and once a day
//! queues each digest subscriber's list of overdue tasks. Runs on every server that has SMTP
//! settings.

use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{compose, MailConfig, EXPIRY, MAX_ATTEMPTS};
use crate::db::schema::mail_outbox;
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::time::now;

const CLAIM: Duration = Duration::seconds(120);
const POLL: StdDuration = StdDuration::from_millis(500);

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = mail_outbox)]
pub struct Outgoing {
    pub id: i32,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub link: String,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
}

fn due(conn: &mut DbConnection, limit: i64) -> Result<Vec<Outgoing>, AppError> {
    let t = now();
    Ok(mail_outbox::table
        .filter(mail_outbox::status.eq("pending"))
        .filter(mail_outbox::next_attempt_at.le(t))
        .filter(
            mail_outbox::locked_until
                .is_null()
                .or(mail_outbox::locked_until.lt(t)),
        )
        .order(mail_outbox::id.asc())
        .limit(limit)
        .select(Outgoing::as_select())
        .load(conn)?)
}

/// Claims what [`due`] found, each only if no server claimed it meanwhile; expired ones
/// are marked so instead.
fn claim(conn: &mut DbConnection, found: Vec<Outgoing>) -> Result<Vec<Outgoing>, AppError> {
    let t = now();
    let mut claimed = Vec::new();
    for m in found {
        let open = mail_outbox::table.find(m.id).filter(
            mail_outbox::locked_until
                .is_null()
                .or(mail_outbox::locked_until.lt(t)),
        );
        if m.created_at + EXPIRY < t {
            diesel::update(open)
                .set((
                    mail_outbox::status.eq("expired"),
                    mail_outbox::last_error.eq("not sent within a day"),
                ))
                .execute(conn)?;
            continue;
        }
        let won = diesel::update(open)
            .set(mail_outbox::locked_until.eq(Some(t + CLAIM)))
            .execute(conn)?;
        if won == 1 {
            claimed.push(m);
        }
    }
    Ok(claimed)
}

fn record(
    conn: &mut DbConnection,
    m: &Outgoing,
    error: Option<String>,
    retry: Duration,
) -> Result<(), AppError> {
    let t = now();
    let attempts = m.attempts + 1;
    let status = match &error {
        None => "sent",
        Some(_) if attempts >= MAX_ATTEMPTS => "failed",
        Some(_) => "pending",
    };
    diesel::update(mail_outbox::table.find(m.id))
        .set((
            mail_outbox::status.eq(status),
            mail_outbox::attempts.eq(attempts),
            mail_outbox::next_attempt_at.eq(t + crate::webhooks::backoff(m.attempts, retry)),
            mail_outbox::locked_until.eq(None::<NaiveDateTime>),
            mail_outbox::last_error.eq(error
                .unwrap_or_default()
                .chars()
                .take(500)
                .collect::<String>()),
            mail_outbox::sent_at.eq((status == "sent").then_some(t)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Runs until the server stops.
pub async fn run(db: Db, mail: MailConfig, base_url: String, retry: StdDuration) {
    let retry = Duration::from_std(retry).unwrap_or(Duration::seconds(10));
    let transport = match mail.transport() {
        Ok(t) => std::sync::Arc::new(t),
        Err(e) => {
            tracing::error!(error = %e, "mail: cannot set up SMTP; no e-mail will be sent");
            return;
        }
    };
    let mut last_digest = std::time::Instant::now() - StdDuration::from_secs(3600);
    loop {
        if last_digest.elapsed() >= StdDuration::from_secs(60) {
            last_digest = std::time::Instant::now();
            if let Err(e) = db.write(crate::notifications::digest::queue_due).await {
                tracing::warn!(error = %e, "mail: overdue digest failed");
            }
        }
        let claimed = match async {
            let found = db.read(|conn| due(conn, 20)).await?;
            if found.is_empty() {
                return Ok(found);
            }
            db.write(move |conn| claim(conn, found)).await
        }
        .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "mail: claim failed");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            actix_web::rt::time::sleep(POLL).await;
            continue;
        }
        for m in claimed {
            let message = compose(
                &mail.from,
                &m.to_address,
                &m.subject,
                &m.body,
                &m.link,
                &base_url,
            );
            let transport = std::sync::Arc::clone(&transport);
            let error = match message {
                Err(e) => Some(e),
                Ok(message) => {
                    use lettre::Transport;
                    tokio::task::spawn_blocking(move || transport.send(&message))
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|r| r.map(|_| ()).map_err(|e| e.to_string()))
                        .err()
                }
            };
            if let Some(e) = &error {
                tracing::info!(mail = m.id, error = %e, "mail: sending failed; will retry");
            }
            if let Err(e) = db.write(move |conn| record(conn, &m, error, retry)).await {
                tracing::warn!(error = %e, "mail: cannot record the outcome");
            }
        }
    }
}

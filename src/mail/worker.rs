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
    pub subscriber_token: Option<String>,
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
        // Everything `due` asked, again: a message another server sent (and so unlocked)
        // since this one read it is not sent twice.
        let open = mail_outbox::table
            .find(m.id)
            .filter(mail_outbox::status.eq("pending"))
            .filter(mail_outbox::next_attempt_at.le(t))
            .filter(
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
            mail_outbox::next_attempt_at.eq(t + crate::outbox::backoff(m.attempts, retry)),
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

/// The mail outbox (see [`crate::outbox`]): the daily overdue digest is queued, messages
/// go out over SMTP.
pub struct MailOutbox {
    transport: std::sync::Arc<lettre::SmtpTransport>,
    mail: MailConfig,
    base_url: String,
    retry: Duration,
}

/// A message's outcome: the error when it was not sent, and the retry base for its backoff.
pub struct Sent {
    error: Option<String>,
    retry: Duration,
}

impl crate::outbox::Outbox for MailOutbox {
    type Item = Outgoing;
    type Outcome = Sent;
    const NAME: &'static str = "mail";

    fn queue_due(conn: &mut DbConnection) -> Result<(), AppError> {
        crate::notifications::digest::queue_due(conn)
    }

    fn due(conn: &mut DbConnection, limit: i64) -> Result<Vec<Outgoing>, AppError> {
        due(conn, limit)
    }

    fn claim(conn: &mut DbConnection, found: Vec<Outgoing>) -> Result<Vec<Outgoing>, AppError> {
        claim(conn, found)
    }

    async fn deliver(&self, m: &Outgoing) -> Sent {
        let message = compose(
            &self.mail.from,
            &m.to_address,
            &m.subject,
            &m.body,
            &m.link,
            &self.base_url,
            m.subscriber_token.as_deref(),
        );
        let transport = std::sync::Arc::clone(&self.transport);
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
        Sent {
            error,
            retry: self.retry,
        }
    }

    fn record(conn: &mut DbConnection, m: &Outgoing, sent: Sent) -> Result<(), AppError> {
        record(conn, m, sent.error, sent.retry)
    }
}

/// Sends queued mail until the server stops.
pub async fn run(db: Db, mail: MailConfig, base_url: String, retry: StdDuration) {
    let retry = Duration::from_std(retry).unwrap_or(Duration::seconds(10));
    let transport = match mail.transport() {
        Ok(t) => std::sync::Arc::new(t),
        Err(e) => {
            tracing::error!(error = %e, "mail: cannot set up SMTP; no e-mail will be sent");
            return;
        }
    };
    let outbox = MailOutbox {
        transport,
        mail,
        base_url,
        retry,
    };
    crate::outbox::run(db, outbox).await
}

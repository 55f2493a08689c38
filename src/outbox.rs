//! The one outbox loop that mail and webhooks share: every minute queue what became due (the
//! overdue digest, the overdue-task events), then claim due items (a conditional update, so
//! each goes out from one server), deliver them one by one, and record each outcome with its
//! backoff. Runs on every server until it stops.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::db::{Db, DbConnection};
use crate::error::AppError;

/// The wait before attempt `attempts + 1`: `base`, then doubling, capped at an hour.
pub fn backoff(attempts: i32, base: chrono::Duration) -> chrono::Duration {
    (base * (1i32 << attempts.clamp(0, 12))).min(chrono::Duration::hours(1))
}

/// How often an idle loop looks for due items.
const POLL: Duration = Duration::from_millis(500);
/// How often [`Outbox::queue_due`] runs.
const QUEUE_EVERY: Duration = Duration::from_secs(60);
/// Claimed per round.
const BATCH: i64 = 20;

/// A kind of outgoing item: how it is found, claimed, delivered and recorded.
pub trait Outbox: 'static {
    /// An item claimed for delivery.
    type Item: Send + 'static;
    /// What delivering it gave (recorded with the item).
    type Outcome: Send + 'static;
    /// For the log.
    const NAME: &'static str;

    /// Queues what became due since the last call (runs in a write).
    fn queue_due(conn: &mut DbConnection) -> Result<(), AppError>;
    /// Up to `limit` due items (a read: an idle poll takes no write lock).
    fn due(conn: &mut DbConnection, limit: i64) -> Result<Vec<Self::Item>, AppError>;
    /// Of `found`, those this server claimed.
    fn claim(conn: &mut DbConnection, found: Vec<Self::Item>) -> Result<Vec<Self::Item>, AppError>;
    /// Sends one item.
    fn deliver(&self, item: &Self::Item) -> impl Future<Output = Self::Outcome>;
    /// Stores the outcome: delivered, to retry after a backoff, or given up.
    fn record(
        conn: &mut DbConnection,
        item: &Self::Item,
        outcome: Self::Outcome,
    ) -> Result<(), AppError>;
}

/// Runs `outbox` until the server stops.
pub async fn run<O: Outbox>(db: Db, outbox: O) {
    let mut last_queued: Option<Instant> = None;
    loop {
        if last_queued.is_none_or(|t| t.elapsed() >= QUEUE_EVERY) {
            last_queued = Some(Instant::now());
            if let Err(e) = db.write(O::queue_due).await {
                tracing::warn!(outbox = O::NAME, error = %e, "queueing due items failed");
            }
        }
        let claimed = async {
            let found = db.read(|conn| O::due(conn, BATCH)).await?;
            if found.is_empty() {
                return Ok(found);
            }
            db.write(move |conn| O::claim(conn, found)).await
        }
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(outbox = O::NAME, error = %e, "claiming failed");
            Vec::new()
        });
        if claimed.is_empty() {
            tokio::time::sleep(POLL).await;
            continue;
        }
        for item in claimed {
            let outcome = outbox.deliver(&item).await;
            if let Err(e) = db.write(move |conn| O::record(conn, &item, outcome)).await {
                tracing::warn!(outbox = O::NAME, error = %e, "cannot record an outcome");
            }
        }
    }
}

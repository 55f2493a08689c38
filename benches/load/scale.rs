//! The cost of scale (`--scale`): a database of 10,000 incidents, 1,000,000 timeline entries
//! and 100,000 tasks, built with multi-row inserts (a few hundred rows per statement, one
//! transaction per 10,000 rows), then the server's lists read on it, and the newest
//! migrations applied to it again.

use std::time::{Duration, Instant};

use chrono::{Duration as Span, NaiveDateTime};
use diesel::prelude::*;
use hindsight::db::schema::{incidents, tasks, timeline_entries};
use hindsight::db::{self, DbConnection, DbUrl};
use hindsight::incidents::{Severity, Status};
use hindsight::tasks::{TaskKind, TaskPriority, TaskStatus};

pub const INCIDENTS: i64 = 10_000;
pub const ENTRIES_PER_INCIDENT: i64 = 100;
pub const TASKS_PER_INCIDENT: i64 = 10;
/// Reverted, then timed while applied again: 000009 through the newest (the live event log,
/// teams, mail, roles, sign-on, restricted incidents and their indexes, and the search
/// index, which indexes every entry, task and incident, and its queue, key moments, links,
/// the causes tasks address, the service catalog, the dead-end indexes, stakeholder updates
/// and the status page with its maintenances and subscribers, chat and attachments).
pub const MIGRATIONS_AGAIN: usize = 29;
/// One entry in this many holds a rare word ("kaleidoscope"), for the search benchmark.
const RARE_EVERY: i64 = 100_000;
/// Rows per transaction while building.
const ROWS_PER_TRANSACTION: usize = 10_000;

/// Builds the database on `url` (migrated, empty); returns how long that took.
pub fn build(url: &DbUrl, start: NaiveDateTime) -> Duration {
    let began = Instant::now();
    let mut conn = db::connect_one(url).unwrap();
    db::migrate(&mut conn).unwrap();
    let severities = [
        Severity::Sev1,
        Severity::Sev2,
        Severity::Sev3,
        Severity::Sev4,
    ];
    let incident_rows: Vec<_> = (0..INCIDENTS)
        .map(|n| {
            let started = start - Span::hours(n * 3);
            let resolved = n % 20 != 0;
            (
                incidents::title.eq(format!(
                    "Incident {n}: checkout latency in region {}",
                    n % 7
                )),
                incidents::severity.eq(severities[n as usize % 4]),
                incidents::status.eq(if resolved {
                    Status::Resolved
                } else {
                    Status::Investigating
                }),
                incidents::impact.eq("Some checkouts failed."),
                incidents::started_at.eq(started),
                incidents::detected_at.eq(Some(started + Span::minutes(4))),
                incidents::resolved_at.eq(resolved.then(|| started + Span::minutes(95))),
                incidents::created_at.eq(started),
                incidents::updated_at.eq(started),
                incidents::version.eq(1),
                incidents::labels.eq("{}"),
            )
        })
        .collect();
    in_transactions(&mut conn, &incident_rows, |conn, rows| {
        hindsight::batch_insert!(&mut *conn, incidents::table, rows);
        Ok(())
    });
    let ids: Vec<(i32, NaiveDateTime)> = incidents::table
        .select((incidents::id, incidents::started_at))
        .order(incidents::id)
        .load(&mut conn)
        .unwrap();

    // Fifty different bodies, rendered once (Markdown rendering is not what is measured).
    let kinds = crate::KINDS;
    let bodies: Vec<(String, String)> = (0..50)
        .map(|i| {
            let body = format!("Step {i}: restarted **gw-{}** and checked the [dashboard](https://grafana.example.com/d/{i}); error rate at {}%.", i % 7, i * 2);
            let html = hindsight::markdown::render(&body);
            (body, html)
        })
        .collect();
    let rare = &(
        "Saw a kaleidoscope of errors on gw-2.".to_string(),
        hindsight::markdown::render("Saw a kaleidoscope of errors on gw-2."),
    );
    let entry_rows: Vec<_> = ids
        .iter()
        .flat_map(|&(id, started)| {
            let bodies = &bodies;
            (0..ENTRIES_PER_INCIDENT).map(move |i| {
                let at = started + Span::minutes(i);
                let (body, html) = if (id as i64 * ENTRIES_PER_INCIDENT + i) % RARE_EVERY == 0 {
                    rare
                } else {
                    &bodies[i as usize % bodies.len()]
                };
                (
                    timeline_entries::incident_id.eq(id),
                    timeline_entries::occurred_at.eq(at),
                    timeline_entries::time_known.eq(true),
                    timeline_entries::recorded_at.eq(at),
                    timeline_entries::kind.eq(kinds[i as usize % kinds.len()]),
                    timeline_entries::body.eq(body.as_str()),
                    timeline_entries::body_html.eq(html.as_str()),
                    timeline_entries::updated_at.eq(at),
                    timeline_entries::version.eq(1),
                )
            })
        })
        .collect();
    in_transactions(&mut conn, &entry_rows, |conn, rows| {
        hindsight::batch_insert!(&mut *conn, timeline_entries::table, rows);
        Ok(())
    });
    drop(entry_rows);

    let task_kinds = [TaskKind::Prevent, TaskKind::Detect, TaskKind::Mitigate];
    let priorities = [TaskPriority::High, TaskPriority::Medium, TaskPriority::Low];
    let statuses = [TaskStatus::Open, TaskStatus::InProgress, TaskStatus::Done];
    let task_rows: Vec<_> = ids
        .iter()
        .flat_map(|&(id, started)| {
            (0..TASKS_PER_INCIDENT).map(move |i| {
                // Follow-ups of incidents older than 90 days are mostly done (one in twenty
                // still open), as on a team that chases them; recent ones are a third each.
                let status = if started < start - Span::days(90) && (id + i as i32) % 20 != 0 {
                    TaskStatus::Done
                } else {
                    statuses[(id as usize + i as usize) % 3]
                };
                (
                    tasks::incident_id.eq(id),
                    tasks::title.eq(format!("Follow-up {i} of incident {id}: add an alert")),
                    tasks::kind.eq(task_kinds[i as usize % 3]),
                    tasks::priority.eq(priorities[i as usize % 3]),
                    tasks::team.eq(format!("team-{}", i % 9)),
                    tasks::due_on.eq(Some((started + Span::days(14 + i)).date())),
                    tasks::status.eq(status),
                    tasks::completed_at.eq((status == TaskStatus::Done).then_some(started)),
                    tasks::created_at.eq(started),
                    tasks::updated_at.eq(started),
                    tasks::version.eq(1),
                )
            })
        })
        .collect();
    in_transactions(&mut conn, &task_rows, |conn, rows| {
        hindsight::batch_insert!(&mut *conn, tasks::table, rows);
        Ok(())
    });
    // A database in use has planner statistics (autovacuum); a freshly loaded one has none.
    if let DbUrl::Postgres(_) = url {
        diesel::connection::SimpleConnection::batch_execute(&mut conn, "VACUUM ANALYZE").unwrap();
    }
    began.elapsed()
}

/// Inserts `rows` with `insert`, one transaction per [`ROWS_PER_TRANSACTION`].
fn in_transactions<R>(
    conn: &mut DbConnection,
    rows: &[R],
    insert: impl Fn(&mut DbConnection, &[R]) -> Result<(), diesel::result::Error>,
) {
    for chunk in rows.chunks(ROWS_PER_TRANSACTION) {
        db::transaction(conn, |conn| insert(conn, chunk)).unwrap();
    }
}

/// Reverts the newest [`MIGRATIONS_AGAIN`] migrations, then times applying them again.
pub fn migrations_again(url: &DbUrl) -> (Vec<String>, Duration) {
    let mut conn = db::connect_one(url).unwrap();
    db::revert_last_migrations(&mut conn, MIGRATIONS_AGAIN).unwrap();
    let began = Instant::now();
    let applied = db::migrate(&mut conn).unwrap();
    (applied, began.elapsed())
}

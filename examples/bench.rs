//! Benchmarks that print numbers (never asserted in tests):
//!   cargo run --release --example bench [-- postgres://…]
//! Export and import of an incident with 10,000 timeline entries and 1,000 tasks, and the
//! action-item board over 10,000 tasks in 1,000 incidents. SQLite in a temp file unless a
//! PostgreSQL URL is given.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use hindsight::audit::Actor;
use hindsight::db::{self, DbUrl};
use hindsight::incidents::service::IncidentFields;
use hindsight::incidents::{Severity, Status};
use hindsight::postmortems::export::{self, Template};
use hindsight::postmortems::import::{self, Imported, ImportedEntry, ImportedTask};
use hindsight::postmortems::{ReviewState, Sections};
use hindsight::tasks::board::{self, TaskFilter};
use hindsight::tasks::service::TaskInput;
use hindsight::timeline::EntryKind;

fn stats(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "| {name:<52} | {:>8.2} | {:>8.2} | {:>8.2} | {:>4} |",
        ms(p(0.5)),
        ms(p(0.95)),
        ms(samples[samples.len() - 1]),
        samples.len()
    );
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect()
}

fn big_incident(entries: usize, tasks: usize, title: &str) -> Imported {
    let start = NaiveDate::from_ymd_opt(2024, 3, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    let kinds = [
        EntryKind::Action,
        EntryKind::Investigation,
        EntryKind::Note,
        EntryKind::Misleading,
        EntryKind::Communication,
    ];
    Imported {
        fields: IncidentFields {
            title: title.into(),
            severity: Severity::Sev1,
            status: Status::Resolved,
            impact: "Payments failed for a quarter of users.".into(),
            users_affected_pct: Some(25.0),
            services: vec!["payments".into(), "checkout".into()],
            commander_id: None,
            started_at: start,
            detected_at: Some(start),
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: Some(start + chrono::Duration::hours(30)),
        },
        commander: None,
        entries: (0..entries)
            .map(|i| ImportedEntry {
                occurred_at: start + chrono::Duration::seconds(i as i64 * 10),
                time_known: true,
                kind: kinds[i % kinds.len()],
                body: format!("Step {i}: restarted **gw-{}** and checked the [dashboard](https://grafana.example.com/d/{i}); error rate at {}%.", i % 7, i % 100),
                author: None,
            })
            .collect(),
        escalations: vec![],
        causes: vec![],
        tasks: (0..tasks)
            .map(|i| ImportedTask {
                input: TaskInput {
                    title: format!("Follow-up {i}: add an alert for gateway {}", i % 13),
                    kind: "detect".into(),
                    priority: ["high", "medium", "low"][i % 3].into(),
                    team: format!("team-{}", i % 9),
                    due_on: format!("2024-0{}-1{}", 1 + i % 9, i % 10),
                    status: ["open", "in_progress", "done"][i % 3].into(),
                    ..Default::default()
                },
                completed_at: None,
            })
            .collect(),
        sections: Sections { summary: "A bad parameter.".into(), conclusion: "Fixed.".into(), ..Default::default() },
        review_state: ReviewState::Draft,
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match std::env::args().nth(1) {
        Some(u) => DbUrl::parse(&u).expect("database URL"),
        None => DbUrl::Sqlite(dir.path().join("bench.db").to_string_lossy().into_owned()),
    };
    let pool = db::connect(&url).expect("database");
    let mut conn = pool.get().expect("connection");
    db::migrate(&mut conn).expect("migrations");
    let actor = Actor::system("bench");
    println!(
        "hindsight benchmarks ({} backend, release={})",
        url.backend_name(),
        !cfg!(debug_assertions)
    );
    println!(
        "| {:<52} | {:>8} | {:>8} | {:>8} | {:>4} |",
        "what", "p50 ms", "p95 ms", "max ms", "runs"
    );
    println!("|{}|", "-".repeat(98));

    let seeded = Instant::now();
    let big = import::store(
        &mut conn,
        big_incident(10_000, 1_000, "Big incident"),
        &actor,
    )
    .expect("seed");
    println!(
        "(seeded 10,000 entries + 1,000 tasks through import::store in {:.0} ms)",
        seeded.elapsed().as_secs_f64() * 1000.0
    );

    stats(
        "load record (10k entries, 1k tasks)",
        time(10, || export::load(&mut conn, big.id).unwrap()),
    );
    let record = export::load(&mut conn, big.id).unwrap();
    stats(
        "render Markdown (10k entries, 1k tasks)",
        time(20, || export::render(&record, Template::Default)),
    );
    stats(
        "export = load + render",
        time(10, || {
            export::render(&export::load(&mut conn, big.id).unwrap(), Template::Default)
        }),
    );
    let doc = export::render(&record, Template::Default);
    println!("(export is {} KiB)", doc.len() / 1024);
    // 10,000 entries make a 2.8 MiB document, over the 1 MiB limit of the API and the page.
    stats(
        "parse the export (import, no database)",
        time(20, || import::parse_unbounded(&doc).unwrap()),
    );
    stats(
        "import = parse + store in one transaction",
        time(3, || {
            import::store(&mut conn, import::parse_unbounded(&doc).unwrap(), &actor).unwrap()
        }),
    );

    // The board: 10,000 tasks over 1,000 incidents.
    for n in 0..1000 {
        import::store(
            &mut conn,
            big_incident(0, 10, &format!("Incident {n}")),
            &actor,
        )
        .unwrap();
    }
    let filter = TaskFilter::default();
    stats(
        "board page 1 (50 of 10k+ tasks, due-date order)",
        time(30, || board::page(&mut conn, &filter, 1, Some(50)).unwrap()),
    );
    let overdue = TaskFilter {
        overdue: true,
        ..Default::default()
    };
    stats(
        "board, overdue filter",
        time(30, || {
            board::page(&mut conn, &overdue, 1, Some(50)).unwrap()
        }),
    );
    stats(
        "board group counts by owner",
        time(30, || {
            board::groups(&mut conn, &filter, board::GroupBy::Owner).unwrap()
        }),
    );
    stats(
        "CSV of every task (11k rows)",
        time(5, || {
            board::csv(&board::page(&mut conn, &filter, 1, None).unwrap().0).unwrap()
        }),
    );
}

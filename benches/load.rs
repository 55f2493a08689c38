//! The benchmark: the real release server on a fresh database, driven over loopback HTTP.
//! Prints a table and asserts nothing:
//!   cargo bench --bench load                      (SQLite in a temp file)
//!   cargo bench --bench load -- postgres://u:p@host/db   (a fresh database on that server)
//!   cargo bench --bench load -- --only appends --only "list"  (only the parts so named)
//! Seeds an incident with 1,000 timeline entries, 100,000 more incidents, 10,000 tasks on
//! 1,000 incidents and an incident with 10,000 entries and 1,000 tasks, starts `hindsight
//! serve` as a child process, and drives it with keep-alive clients from this process (which
//! shares the machine's cores with the server). Uses `wrk` too when it is installed.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use hindsight::audit::Actor;
use hindsight::db::schema::incidents;
use hindsight::db::{self, DbUrl};
use hindsight::incidents::service::IncidentFields;
use hindsight::incidents::{Severity, Status};
use hindsight::postmortems::import::{self, Imported, ImportedEntry, ImportedTask};
use hindsight::postmortems::Sections;
use hindsight::tasks::service::TaskInput;
use hindsight::timeline::EntryKind;

#[path = "load/scale.rs"]
mod scale;

#[path = "../tests/support/binary.rs"]
#[allow(dead_code)] // shared with the integration tests, which use other parts of it
mod binary;

use binary::{cli, ChildServer, BIN};

const LIST_INCIDENTS: i64 = 100_000;

fn start() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 3, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap()
}

/// The kinds seeded entries take in turn.
const KINDS: [EntryKind; 5] = [
    EntryKind::Action,
    EntryKind::Investigation,
    EntryKind::Note,
    EntryKind::Misleading,
    EntryKind::Communication,
];

/// An incident document with `entries` timeline entries and `tasks` action items.
fn incident(title: &str, entries: usize, tasks: usize) -> Imported {
    let kinds = KINDS;
    Imported {
        fields: IncidentFields {
            title: title.into(),
            severity: Severity::Sev1,
            status: Status::Resolved,
            impact: "Payments failed for a quarter of users.".into(),
            users_affected_pct: Some(25.0),
            services: vec!["payments".into(), "checkout".into()],
            commander_id: None,
            comms_lead_id: None,
            scribe_id: None,
            ops_lead_id: None,
            started_at: start(),
            detected_at: Some(start()),
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: Some(start() + chrono::Duration::hours(30)),
        },
        commander: None,
        roles: Default::default(),
        entries: (0..entries)
            .map(|i| ImportedEntry {
                moment: Default::default(),
                occurred_at: start() + chrono::Duration::seconds(i as i64 * 10),
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
                owner_as_written: false,
            })
            .collect(),
        sections: Sections {
            summary: "A bad parameter.".into(),
            conclusion: "Fixed.".into(),
            ..Default::default()
        },
        review_history: String::new(),
        stated: Default::default(),
        read_from: None,
        not_understood: vec![],
    }
}

/// Seeds the database; returns the key of the 10,000-entry incident.
fn seed(url: &DbUrl) -> String {
    let mut conn = db::connect_one(url).unwrap();
    db::migrate(&mut conn).unwrap();
    if std::env::var_os("HINDSIGHT_BENCH_NO_SEARCH_INDEX").is_some() {
        // What appends cost without the search index's upkeep (for the comparison only).
        let sql = match url {
            DbUrl::Sqlite(_) => "DROP TRIGGER search_entry_insert",
            DbUrl::Postgres(_) => "DROP TRIGGER search_entry ON timeline_entries",
        };
        diesel::connection::SimpleConnection::batch_execute(&mut conn, sql).unwrap();
        println!(
            "(search index upkeep of new entries turned off: HINDSIGHT_BENCH_NO_SEARCH_INDEX)"
        );
    }
    let actor = Actor::system("bench");
    let store = |conn: &mut db::DbConnection, document: Imported| {
        let prepared = import::prepare_parsed(document, String::new()).unwrap();
        import::store(conn, prepared, import::Again::Allow, &actor).unwrap()
    };
    // INC-1: the 1,000-entry incident of the page and append runs.
    store(&mut conn, incident("Payment gateway outage", 1_000, 0));
    db::transaction(&mut conn, |conn| {
        let rows: Vec<_> = (0..LIST_INCIDENTS)
            .map(|n| {
                let t = start() - chrono::Duration::minutes(n);
                (
                    incidents::title.eq(format!("Incident {n}")),
                    incidents::severity.eq([
                        Severity::Sev1,
                        Severity::Sev2,
                        Severity::Sev3,
                        Severity::Sev4,
                    ][n as usize % 4]),
                    incidents::status.eq(if n % 10 == 0 {
                        Status::Investigating
                    } else {
                        Status::Resolved
                    }),
                    incidents::impact.eq(""),
                    incidents::started_at.eq(t),
                    incidents::created_at.eq(t),
                    incidents::updated_at.eq(t),
                    incidents::version.eq(1),
                    incidents::labels.eq("{}"),
                )
            })
            .collect();
        hindsight::batch_insert!(&mut *conn, incidents::table, rows);
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
    // 10,000 tasks on 1,000 incidents for the board.
    for n in 0..1_000 {
        store(&mut conn, incident(&format!("Follow-ups {n}"), 0, 10));
    }
    let key = store(&mut conn, incident("Long incident", 10_000, 1_000)).key();
    // A database in use has statistics and a visibility map (autovacuum); a freshly bulk-loaded
    // PostgreSQL one has neither, and its planner would scan instead of using the indexes.
    if let DbUrl::Postgres(_) = url {
        diesel::connection::SimpleConnection::batch_execute(&mut conn, "VACUUM ANALYZE").unwrap();
    }
    key
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}")
}

/// Builds request number `n` on a client.
type MakeRequest = Arc<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync>;

struct Run {
    ok: usize,
    errors: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

async fn drive(
    client: reqwest::Client,
    concurrency: usize,
    duration: Duration,
    make: MakeRequest,
) -> Run {
    let results = Arc::new(Mutex::new((0usize, 0usize, Vec::new())));
    let started = Instant::now();
    let until = started + duration;
    let tasks = (0..concurrency).map(|w| {
        let (client, results, make) = (client.clone(), Arc::clone(&results), Arc::clone(&make));
        async move {
            let mut n = 0;
            let mut local = Vec::new();
            let (mut ok, mut errors) = (0, 0);
            while Instant::now() < until {
                n += 1;
                let t = Instant::now();
                match make(&client, w * 1_000_000 + n).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok += 1;
                    }
                    _ => errors += 1,
                }
                local.push(t.elapsed());
            }
            let mut r = results.lock().unwrap();
            r.0 += ok;
            r.1 += errors;
            r.2.extend(local);
        }
    });
    futures_util::future::join_all(tasks).await;
    let elapsed = started.elapsed();
    let (ok, errors, latencies) = std::mem::take(&mut *results.lock().unwrap());
    Run {
        ok,
        errors,
        latencies,
        elapsed,
    }
}

/// Like [`drive`] with one client, timing each response's first body byte (the rest is
/// read before the next request).
async fn first_bytes(client: &reqwest::Client, url: &str, duration: Duration) -> Run {
    let started = Instant::now();
    let (mut ok, mut errors, mut latencies) = (0, 0, Vec::new());
    while started.elapsed() < duration {
        let t = Instant::now();
        match client.get(url).send().await {
            Ok(mut r) if r.status().is_success() => {
                if let Ok(Some(_)) = r.chunk().await {
                    latencies.push(t.elapsed());
                    ok += 1;
                } else {
                    errors += 1;
                }
                while let Ok(Some(_)) = r.chunk().await {}
            }
            _ => errors += 1,
        }
    }
    Run {
        ok,
        errors,
        latencies,
        elapsed: started.elapsed(),
    }
}

fn pct(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    samples
        .get(((samples.len() as f64 - 1.0) * q).round() as usize)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn row(what: &str, run: &mut Run, aim: &str) {
    let rate = run.ok as f64 / run.elapsed.as_secs_f64();
    println!(
        "| {what:<50} | {rate:>7.0} | {:>7.2} | {:>7.2} | {:>6} | {aim} |",
        pct(&mut run.latencies, 0.5),
        pct(&mut run.latencies, 0.99),
        run.errors
    );
}

/// Runs `wrk` when it is installed (`apt-get install wrk`): the incident page and appends.
fn with_wrk(base: &str, session: &str, token: &str) -> Option<Vec<(String, f64, f64, f64)>> {
    Command::new("wrk").arg("--version").output().ok()?;
    let dir = tempfile::tempdir().ok()?;
    let script = dir.path().join("append.lua");
    let lua = format!(
        "wrk.method = \"POST\"\nwrk.headers[\"Authorization\"] = \"Bearer {token}\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\ncounter = 0\nrequest = function()\n  counter = counter + 1\n  return wrk.format(nil, nil, nil, '{{\"kind\": \"note\", \"body\": \"wrk append ' .. counter .. '\"}}')\nend\n"
    );
    std::fs::write(&script, lua).ok()?;
    let run = |args: Vec<String>| -> Option<(f64, f64, f64)> {
        let out = Command::new("wrk").args(&args).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let ms = |label: &str| -> f64 {
            text.lines()
                .find(|l| l.trim_start().starts_with(label))
                .and_then(|l| l.split_whitespace().nth(1))
                .map(|v| {
                    let (num, unit) =
                        v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
                    let n: f64 = num.parse().unwrap_or(0.0);
                    match unit {
                        "us" => n / 1000.0,
                        "s" => n * 1000.0,
                        _ => n,
                    }
                })
                .unwrap_or(0.0)
        };
        let rate = text
            .lines()
            .find(|l| l.starts_with("Requests/sec:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Some((rate, ms("50%"), ms("99%")))
    };
    let common = |extra: &[String], url: String| -> Vec<String> {
        let mut args: Vec<String> = ["-t2", "-c32", "-d5s", "--latency"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend_from_slice(extra);
        args.push(url);
        args
    };
    let page = run(common(
        &["-H".into(), format!("Cookie: {session}")],
        format!("{base}/incidents/INC-1"),
    ))?;
    let appends = run(common(
        &["-s".into(), script.to_string_lossy().into_owned()],
        format!("{base}/api/v1/incidents/INC-2/timeline"),
    ))?;
    Some(vec![
        (
            "incident page, 1,000 entries (32 conns)".into(),
            page.0,
            page.1,
            page.2,
        ),
        (
            "timeline appends via API (32 conns)".into(),
            appends.0,
            appends.1,
            appends.2,
        ),
    ])
}

/// The database under test: a temp SQLite file, or a fresh database on the PostgreSQL
/// server whose URL is the first argument (dropped at the end).
struct Target {
    url: DbUrl,
    postgres_admin: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Target {
    fn from_args() -> Target {
        let dir = tempfile::tempdir().unwrap();
        let arg = std::env::args().skip(1).find(|a| a.starts_with("postgres"));
        match arg {
            None => Target {
                url: DbUrl::Sqlite(dir.path().join("load.db").to_string_lossy().into_owned()),
                postgres_admin: None,
                _dir: dir,
            },
            Some(admin) => {
                let name = format!("hs_bench_{}", std::process::id());
                let mut conn = diesel::pg::PgConnection::establish(&admin)
                    .expect("connect to the PostgreSQL server given");
                diesel::connection::SimpleConnection::batch_execute(
                    &mut conn,
                    &format!("CREATE DATABASE {name}"),
                )
                .expect("create the benchmark database");
                let (prefix, _) = admin.rsplit_once('/').expect("URL with a database name");
                Target {
                    url: DbUrl::Postgres(format!("{prefix}/{name}")),
                    postgres_admin: Some((admin, name)),
                    _dir: dir,
                }
            }
        }
    }

    fn env_url(&self) -> String {
        match &self.url {
            DbUrl::Sqlite(path) => format!("sqlite://{path}"),
            DbUrl::Postgres(url) => url.clone(),
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres_admin {
            if let Ok(mut conn) = diesel::pg::PgConnection::establish(admin) {
                let _ = diesel::connection::SimpleConnection::batch_execute(
                    &mut conn,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                );
            }
        }
    }
}

/// Whether a part of the run was asked for: `--only WORD` (repeatable) runs only the parts
/// whose name contains one of the words; without it, everything runs.
fn wanted(what: &str) -> bool {
    let mut args = std::env::args().skip(1);
    let mut words = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--only" {
            words.extend(args.next());
        }
    }
    let what = what.to_lowercase();
    words.is_empty() || words.iter().any(|w| what.contains(&w.to_lowercase()))
}

fn main() {
    let target = Target::from_args();
    let db = target.env_url();
    if std::env::args().any(|a| a == "--scale") {
        return at_scale(&target);
    }
    let seeding = Instant::now();
    let long_key = seed(&target.url);
    bench_user(&db);
    let token = cli(&db, &["token", "create", "--username", "bench"], "");
    eprintln!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    // The live-stream run opens 1,000 streams as one user.
    std::env::set_var("HINDSIGHT_LIVE_MAX_PER_USER", "5000");
    // Killed however this ends (a panic included), before the database goes.
    let server = ChildServer::start(&db);
    actix_web::rt::System::new().block_on(run_all(server.url(), token, long_key, &server, &target));
    drop(server);
}

/// The benchmark's user (a responder, password `longenough1`).
fn bench_user(db: &str) {
    cli(
        db,
        &[
            "user",
            "create",
            "--username",
            "bench",
            "--role",
            "responder",
            "--password-stdin",
        ],
        "longenough1\n",
    );
}

/// `--scale`: the lists on a database of 10,000 incidents, 1,000,000 entries and 100,000
/// tasks, and the newest migrations applied to it again.
fn at_scale(target: &Target) {
    let db = target.env_url();
    let built = scale::build(&target.url, chrono::Utc::now().naive_utc());
    bench_user(&db);
    let token = cli(&db, &["token", "create", "--username", "bench"], "");
    println!(
        "hindsight at scale: {} backend; {} incidents, {} timeline entries, {} tasks, built in {:.1} s ({})",
        target.url.backend_name(),
        scale::INCIDENTS,
        scale::INCIDENTS * scale::ENTRIES_PER_INCIDENT,
        scale::INCIDENTS * scale::TASKS_PER_INCIDENT,
        built.as_secs_f64(),
        machine()
    );
    let server = ChildServer::start(&db);
    actix_web::rt::System::new().block_on(async {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = server.url();
        sign_in(&client, &base).await;
        println!(
            "| {:<50} | {:>7} | {:>7} | {:>7} | {:>6} | aim |",
            "what (1 conn, 3 s each)", "req/s", "p50 ms", "p99 ms", "errors"
        );
        println!("|{}|", "-".repeat(100));
        let cases: [(&str, &str, Option<&str>); 12] = [
            ("incident list page 1 (HTML)", "/incidents", None),
            (
                "incident list page 1 (API)",
                "/api/v1/incidents",
                Some(&token),
            ),
            (
                "incident list, page 100 (HTML)",
                "/incidents?page=100",
                None,
            ),
            (
                "incident search \"incident 4242\"",
                "/incidents?q=incident+4242",
                None,
            ),
            (
                "search, a word in every entry (\"restarted\")",
                "/api/v1/search?q=restarted",
                Some(&token),
            ),
            (
                "search, a rare word (10 entries)",
                "/api/v1/search?q=kaleidoscope",
                Some(&token),
            ),
            (
                "search, a phrase (\"error rate\")",
                "/api/v1/search?q=%22error+rate%22",
                Some(&token),
            ),
            ("action items board", "/tasks", None),
            (
                "action items CSV (the board's default filter)",
                "/tasks.csv",
                None,
            ),
            ("insights", "/insights", None),
            ("dashboard", "/", None),
            (
                "incident page, 100 entries + 10 tasks",
                "/incidents/INC-5000",
                None,
            ),
        ];
        for (what, path, token) in cases {
            let mut run = drive(
                client.clone(),
                1,
                Duration::from_secs(3),
                get(&base, path, token),
            )
            .await;
            let aim = if path == "/tasks.csv" {
                "streamed: see the first byte"
            } else {
                "p50 < 10 ms"
            };
            row(what, &mut run, aim);
        }
        let mut run = first_bytes(
            &client,
            &format!("{base}/tasks.csv"),
            Duration::from_secs(3),
        )
        .await;
        row(
            "action items CSV, all 100,000 tasks: first byte",
            &mut run,
            "first byte < 50 ms",
        );
    });
    drop(server);
    let (applied, took) = scale::migrations_again(&target.url);
    println!(
        "migrations {} .. {} applied again to it: {:.2} s (aim < 60 s)",
        applied.first().map_or("", String::as_str),
        applied.last().map_or("", String::as_str),
        took.as_secs_f64()
    );
}

/// Signs `client` in as the benchmark's user (its cookie store keeps the session); returns
/// the session cookie (`name=value`) for `wrk`.
async fn sign_in(client: &reqwest::Client, base: &str) -> String {
    let login = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf_token\" value=\"";
    let at = login.find(marker).unwrap() + marker.len();
    let csrf = login[at..at + 64].to_string();
    let signed_in = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "bench"),
            ("password", "longenough1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        signed_in.status(),
        reqwest::StatusCode::SEE_OTHER,
        "signed in"
    );
    signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("hindsight_session="))
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_string()
}

async fn run_all(
    base: String,
    token: String,
    long_key: String,
    server: &ChildServer,
    target: &Target,
) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    for _ in 0..400 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_kib(server.pid(), "VmRSS:");
    let session = sign_in(&client, &base).await;
    let size = |path: String| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let res = client.get(path).bearer_auth(token).send().await.unwrap();
            assert!(res.status().is_success(), "{}", res.status());
            res.bytes().await.unwrap().len() / 1024
        }
    };
    let page = client
        .get(format!("{base}/incidents/INC-1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let page_kib = page.len() / 1024;
    let json_kib = size(format!("{base}/api/v1/incidents/INC-1")).await;
    let export = client
        .get(format!("{base}/api/v1/incidents/{long_key}/postmortem.md"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    println!(
        "hindsight load benchmark: {} backend, release binary, client on the same machine ({})",
        target.url.backend_name(),
        machine()
    );
    println!(
        "| {:<50} | {:>7} | {:>7} | {:>7} | {:>6} | aim |",
        "what", "req/s", "p50 ms", "p99 ms", "errors"
    );
    println!("|{}|", "-".repeat(100));
    let heavy = Duration::from_secs(5);
    let light = Duration::from_secs(3);
    // (what, connections, duration, request, aim)
    let cases: Vec<(String, usize, Duration, MakeRequest, &str)> = vec![
        (
            format!("incident page, 1,000 entries ({page_kib} KiB), 32 conns"),
            32,
            heavy,
            get(&base, "/incidents/INC-1", None),
            ">= 2,000 req/s",
        ),
        (
            format!("incident JSON, 1,000 entries ({json_kib} KiB), 32 conns"),
            32,
            heavy,
            get(&base, "/api/v1/incidents/INC-1", Some(&token)),
            "",
        ),
        (
            "timeline appends via API, 32 conns".into(),
            32,
            heavy,
            {
                let (b, t) = (base.clone(), token.clone());
                Arc::new(move |c, n| {
                    c.post(format!("{b}/api/v1/incidents/INC-2/timeline"))
                        .bearer_auth(&t)
                        .json(&serde_json::json!({"kind": "note", "body": format!("Append {n}: restarted gw-3 after the connection pool filled; error rate back under 1%.")}))
                })
            },
            ">= 5,000/s, p99 < 50 ms, 0 errors",
        ),
        (
            "incident list page 1 of 101,002 (API), 1 conn".into(),
            1,
            light,
            get(&base, "/api/v1/incidents", Some(&token)),
            "p50 < 5 ms",
        ),
        (
            "incident list page 1 (HTML), 1 conn".into(),
            1,
            light,
            get(&base, "/incidents", None),
            "p50 < 5 ms",
        ),
        (
            "incident list filtered by status+severity, 1 conn".into(),
            1,
            light,
            get(&base, "/incidents?status=investigating&severity=SEV2", None),
            "p50 < 5 ms",
        ),
        (
            "incident list, page 150 (HTML), 1 conn".into(),
            1,
            light,
            get(&base, "/incidents?page=150", None),
            "p50 < 5 ms",
        ),
        (
            "incident list text search \"incident 4242\", 1 conn".into(),
            1,
            light,
            get(&base, "/incidents?q=incident+4242", None),
            "p50 < 5 ms",
        ),
        (
            "/tasks board over 11,000 tasks, 1 conn".into(),
            1,
            light,
            get(&base, "/tasks", None),
            "",
        ),
        (
            "/tasks.csv, all 11,000 tasks, 1 conn".into(),
            1,
            light,
            get(&base, "/tasks.csv", None),
            "",
        ),
        (
            format!(
                "Markdown export, 10,000 entries + 1,000 tasks ({} KiB)",
                export.len() / 1024
            ),
            1,
            light,
            get(
                &base,
                &format!("/api/v1/incidents/{long_key}/postmortem.md"),
                Some(&token),
            ),
            "< 50 ms",
        ),
        (
            "Markdown import of that export, 1 conn".into(),
            1,
            light,
            {
                let (b, t, doc) = (base.clone(), token.clone(), Arc::new(export));
                Arc::new(move |c, _| {
                    c.post(format!("{b}/api/v1/import?duplicate=true"))
                        .bearer_auth(&t)
                        .header("content-type", "text/markdown")
                        .body(doc.as_bytes().to_vec())
                })
            },
            "",
        ),
    ];
    let mut page_rate = None;
    for (what, conns, duration, make, aim) in cases {
        if !wanted(&what) {
            continue;
        }
        let mut run = drive(client.clone(), conns, duration, make).await;
        row(&what, &mut run, aim);
        if what.starts_with("incident page") {
            page_rate = Some(run.ok as f64 / run.elapsed.as_secs_f64());
        }
    }
    if let Some(page_rate) = page_rate {
        // The ceiling for a page of this size here: actix serving the same bytes from memory.
        let (url, handle, thread) = static_server(page.to_vec());
        let mut run = drive(client.clone(), 32, heavy, get(&url, "/", None)).await;
        let ceiling = run.ok as f64 / run.elapsed.as_secs_f64();
        row(
            &format!("same {page_kib} KiB from memory (plain actix), 32 conns"),
            &mut run,
            "the ceiling",
        );
        println!(
            "| {:<50} | {:>6.0}% | {:>7} | {:>7} | {:>6} | >= 50% |",
            "incident page as a share of that ceiling",
            100.0 * page_rate / ceiling,
            "",
            "",
            ""
        );
        handle.stop(true).await;
        let _ = thread.join();
    }
    if wanted("status page") {
        status_page(&client, &base, &target.env_url()).await;
    }
    if matches!(target.url, DbUrl::Postgres(_)) && wanted("three servers") {
        // Two more servers on the same database: each with its own writer, so appends to
        // different incidents may go past one server's rate; to one incident they queue on
        // its row lock.
        let others = [
            ChildServer::start(&target.env_url()),
            ChildServer::start(&target.env_url()),
        ];
        let bases = [base.clone(), others[0].url(), others[1].url()];
        let append = |base: String, key: &'static str| -> MakeRequest {
            let t = token.clone();
            Arc::new(move |c, n| {
                c.post(format!("{base}/api/v1/incidents/{key}/timeline"))
                    .bearer_auth(&t)
                    .json(&serde_json::json!({"kind": "note", "body": format!("append {n}")}))
            })
        };
        let runs = futures_util::future::join_all(
            bases
                .iter()
                .zip(["INC-2", "INC-3", "INC-4"])
                .map(|(b, key)| drive(client.clone(), 11, heavy, append(b.clone(), key))),
        )
        .await;
        let mut total = Run {
            ok: runs.iter().map(|r| r.ok).sum(),
            errors: runs.iter().map(|r| r.errors).sum(),
            latencies: runs.iter().flat_map(|r| r.latencies.clone()).collect(),
            elapsed: runs.iter().map(|r| r.elapsed).max().unwrap_or_default(),
        };
        row(
            "appends via 3 servers to 3 incidents, 33 conns: total",
            &mut total,
            "> one server's appends",
        );
        for (i, mut run) in runs.into_iter().enumerate() {
            row(
                &format!("appends via 3 servers to 3 incidents: server {}", i + 1),
                &mut run,
                "",
            );
        }
        let bases = Arc::new(bases);
        let t = token.clone();
        let make: MakeRequest = Arc::new(move |c, n| {
            c.post(format!("{}/api/v1/incidents/INC-2/timeline", bases[n % 3]))
                .bearer_auth(&t)
                .json(&serde_json::json!({"kind": "note", "body": format!("append {n}")}))
        });
        let mut run = drive(client.clone(), 33, heavy, make).await;
        row(
            "appends via 3 servers to one incident, 33 conns",
            &mut run,
            ">= one server's appends",
        );
    }
    let live = if wanted("live streams") {
        live_streams(&base, &token, server.pid()).await
    } else {
        String::new()
    };
    let uploads = if wanted("uploads") {
        parallel_uploads(&client, &base, &token, server.pid()).await
    } else {
        String::new()
    };
    let after_imports = if wanted("repeated imports") {
        repeated_imports(&client, &base, &token, server.pid()).await
    } else {
        String::new()
    };
    if let Some(rows) = with_wrk(&base, &session, &token).filter(|_| wanted("wrk")) {
        println!();
        println!("with wrk (a C load generator: less of the 2 cores goes to the client)");
        println!(
            "| {:<50} | {:>7} | {:>7} | {:>7} |",
            "what", "req/s", "p50 ms", "p99 ms"
        );
        println!("|{}|", "-".repeat(82));
        for (what, rate, p50, p99) in rows {
            println!("| {what:<50} | {rate:>7.0} | {p50:>7.2} | {p99:>7.2} |");
        }
    }
    let binary = std::fs::metadata(BIN).map_or(0, |m| m.len());
    println!();
    println!(
        "memory: idle RSS {:.1} MiB after start (aim < 30 MB), peak RSS {:.1} MiB; release binary {:.1} MiB",
        idle as f64 / 1024.0,
        rss_kib(server.pid(), "VmHWM:") as f64 / 1024.0,
        binary as f64 / 1024.0 / 1024.0
    );
    println!("{live}");
    println!("{uploads}");
    println!("{after_imports}");
}

/// The public status page while 32 writers append to a public incident: `/status`, its
/// JSON and its feed (served from the per-revision cache), each beside plain actix serving
/// the same bytes under the same writers — the ceiling for an answer of that size here.
async fn status_page(client: &reqwest::Client, base: &str, db: &str) {
    cli(
        db,
        &[
            "user",
            "create",
            "--username",
            "bench-admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "longenough1\n",
    );
    let admin = cli(db, &["token", "create", "--username", "bench-admin"], "");
    let call = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        let req = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&admin)
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            let body = res.json::<serde_json::Value>().await.unwrap();
            assert!(status.is_success(), "{status} {body}");
            body
        }
    };
    use reqwest::Method;
    // The seeded incidents name "payments" already.
    for name in ["search", "ledger"] {
        call(
            Method::POST,
            "/api/v1/services",
            serde_json::json!({"name": name}),
        )
        .await;
    }
    call(
        Method::PATCH,
        "/api/v1/status",
        serde_json::json!({"enabled": true, "title": "Acme status", "components": [
            {"service": "payments", "state": null}, {"service": "search", "state": null},
            {"service": "ledger", "state": null}]}),
    )
    .await;
    let incident = call(
        Method::POST,
        "/api/v1/incidents",
        serde_json::json!({"title": "Card payments failing in the EU", "severity": "SEV1", "services": ["payments"]}),
    )
    .await;
    let key = incident["key"].as_str().unwrap().to_string();
    for n in 0..5 {
        call(
            Method::POST,
            &format!("/api/v1/incidents/{key}/updates"),
            serde_json::json!({"audience": "public", "impact": format!("Update {n}: some card payments in the EU fail; we are failing over to the second acquirer.")}),
        )
        .await;
    }
    let writers = |duration: Duration| {
        let (b, t, key) = (base.to_string(), admin.clone(), key.clone());
        drive(
            client.clone(),
            32,
            duration,
            Arc::new(move |c, n| {
                c.post(format!("{b}/api/v1/incidents/{key}/timeline"))
                    .bearer_auth(&t)
                    .json(&serde_json::json!({"kind": "note", "body": format!("Append {n}: restarted gw-3.")}))
            }),
        )
    };
    let span = Duration::from_secs(4);
    for path in ["/status", "/status.json", "/status/feed.atom"] {
        let body = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let kib = body.len() as f64 / 1024.0;
        // Warm: the first look renders the revision; connections open.
        drive(
            client.clone(),
            32,
            Duration::from_secs(1),
            get(base, path, None),
        )
        .await;
        let (mut readers, mut appends) = futures_util::future::join(
            drive(client.clone(), 32, span, get(base, path, None)),
            writers(span),
        )
        .await;
        let rate = readers.ok as f64 / readers.elapsed.as_secs_f64();
        let (url, handle, thread) = static_server(body.to_vec());
        let (mut ceiling, _) = futures_util::future::join(
            drive(client.clone(), 32, span, get(&url, "/", None)),
            writers(span),
        )
        .await;
        let share = 100.0 * rate / (ceiling.ok as f64 / ceiling.elapsed.as_secs_f64());
        row(
            &format!("{path} ({kib:.1} KiB) while 32 writers append, 32 conns"),
            &mut readers,
            &format!(
                "{share:.0}% of the ceiling (aim >= 70%): {}",
                if share >= 70.0 { "met" } else { "not met" }
            ),
        );
        row(
            &format!("  {path}: the appends meanwhile"),
            &mut appends,
            "",
        );
        row(
            &format!("  {path}: same bytes from memory, same writers"),
            &mut ceiling,
            "the ceiling",
        );
        handle.stop(true).await;
        let _ = thread.join();
    }
}

/// A plain actix server answering every request with `body` (two workers, like the app's
/// default on this machine); returns its URL, its handle (to stop it) and its thread.
fn static_server(
    body: Vec<u8>,
) -> (
    String,
    actix_web::dev::ServerHandle,
    std::thread::JoinHandle<std::io::Result<()>>,
) {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let body = web::Bytes::from(body);
            let server = HttpServer::new(move || {
                let body = body.clone();
                App::new().default_service(web::to(move || {
                    let body = body.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .body(body)
                    }
                }))
            })
            .workers(2)
            .bind(("127.0.0.1", 0))
            .unwrap();
            let addr = server.addrs()[0];
            let running = server.run();
            tx.send((addr, running.handle())).unwrap();
            running.await
        })
    });
    let (addr, handle) = rx.recv().unwrap();
    (format!("http://{addr}"), handle, thread)
}

/// Live updates at scale: 1,000 server-sent-event streams on 200 incidents (5 each), then
/// appends at full rate (32 writers) spread over those incidents. Reports the server's
/// memory per open stream, the append rate with the streams beside the rate without, and
/// the latency from an append's request to its event on a stream (one stream per incident
/// is read and timed; the others are drained).
async fn live_streams(base: &str, token: &str, pid: u32) -> String {
    const STREAMS: usize = 1_000;
    const INCIDENTS: usize = 200;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let appends = |label: &'static str| {
        let (b, t) = (base.to_string(), token.to_string());
        let make: MakeRequest = Arc::new(move |c, n| {
            let incident = 2 + n % INCIDENTS;
            let sent = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_micros();
            c.post(format!("{b}/api/v1/incidents/INC-{incident}/timeline"))
                .bearer_auth(&t)
                .json(&serde_json::json!({"kind": "note", "body": format!("{label} sent={sent}")}))
        });
        make
    };
    let mut without = drive(client.clone(), 32, Duration::from_secs(5), appends("plain")).await;
    let rate_without = without.ok as f64 / without.elapsed.as_secs_f64();
    let p99_without = pct(&mut without.latencies, 0.99);

    let before = rss_kib(pid, "VmRSS:");
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let mut opened = Vec::with_capacity(STREAMS);
    for i in 0..STREAMS {
        let incident = 2 + i % INCIDENTS;
        let res = reqwest::Client::new()
            .get(format!("{base}/api/v1/incidents/INC-{incident}/events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "stream {i}: {}", res.status());
        let timed = i < INCIDENTS;
        let latencies = Arc::clone(&latencies);
        opened.push(actix_web::rt::spawn(async move {
            let mut res = res;
            let mut buf = String::new();
            while let Ok(Some(chunk)) = res.chunk().await {
                if !timed {
                    continue;
                }
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let event: String = buf.drain(..end + 2).collect();
                    if let Some(sent) = event
                        .split("sent=")
                        .nth(1)
                        .and_then(|s| s.split('"').next())
                        .and_then(|s| s.parse::<u128>().ok())
                    {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap()
                            .as_micros();
                        latencies.lock().unwrap().push((now - sent) as f64 / 1000.0);
                    }
                }
            }
        }));
    }
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid, "VmRSS:");
    let mut with = drive(client.clone(), 32, Duration::from_secs(5), appends("live")).await;
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    let rate_with = with.ok as f64 / with.elapsed.as_secs_f64();
    let p99_with = pct(&mut with.latencies, 0.99);
    for task in opened {
        task.abort();
    }
    let mut lat = std::mem::take(&mut *latencies.lock().unwrap());
    lat.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    format!(
        "live: {STREAMS} streams on {INCIDENTS} incidents: server RSS {:.1} → {:.1} MiB ({:.1} KiB per stream); appends {rate_without:.0}/s (p99 {p99_without:.1} ms) without streams, {rate_with:.0}/s (p99 {p99_with:.1} ms, {} errors) with them; append-to-event latency on {} timed events p50 {:.1} ms, p99 {:.1} ms",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / STREAMS as f64,
        with.errors,
        lat.len(),
        q(0.5),
        q(0.99)
    )
}

/// Imports the seed postmortem 1,000 times, one after another, and reports resident memory
/// after 250, 500 and 1,000: flat figures mean no leak and the allocator gives memory back.
async fn repeated_imports(client: &reqwest::Client, base: &str, token: &str, pid: u32) -> String {
    const DOCUMENT: &str = include_str!("../tests/fixtures/payment-gateway-2023-06-07.txt");
    let mut figures = Vec::new();
    for n in 1..=1_000 {
        let res = client
            .post(format!("{base}/api/v1/import?duplicate=true"))
            .bearer_auth(token)
            .header("content-type", "text/plain")
            .body(DOCUMENT)
            .send()
            .await
            .expect("import");
        assert!(res.status().is_success(), "import {n}: {}", res.status());
        if [250, 500, 1_000].contains(&n) {
            figures.push(format!(
                "{n}: {:.1} MiB",
                rss_kib(pid, "VmRSS:") as f64 / 1024.0
            ));
        }
    }
    format!(
        "memory after repeated imports of the seed postmortem (RSS): {}",
        figures.join(", ")
    )
}

/// 50 MiB of attachments uploaded at once (ten 5 MiB files in parallel, all different):
/// the server's peak RSS before and after (aim: under 150 MiB).
async fn parallel_uploads(client: &reqwest::Client, base: &str, token: &str, pid: u32) -> String {
    let before = rss_kib(pid, "VmHWM:") as f64 / 1024.0;
    let started = Instant::now();
    let uploads = (0..10u8).map(|n| {
        let bytes: Vec<u8> = (0..5 * 1024 * 1024u32)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(n))
            .collect();
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(format!("dump-{n}.bin")),
        );
        client
            .post(format!("{base}/api/v1/incidents/INC-2/attachments"))
            .bearer_auth(token)
            .multipart(form)
            .send()
    });
    for res in futures_util::future::join_all(uploads).await {
        let res = res.expect("upload");
        assert!(res.status().is_success(), "upload: {}", res.status());
    }
    let after = rss_kib(pid, "VmHWM:") as f64 / 1024.0;
    format!(
        "uploads: 10 × 5 MiB in parallel in {:.2} s; peak RSS {before:.1} MiB before, {after:.1} MiB after (aim < 150 MiB: {})",
        started.elapsed().as_secs_f64(),
        if after < 150.0 { "met" } else { "not met" }
    )
}

/// A GET of `path`, with the session cookie (pages) or a bearer token (API).
fn get(base: &str, path: &str, token: Option<&str>) -> MakeRequest {
    let url = format!("{base}{path}");
    let token = token.map(str::to_string);
    Arc::new(move |c, _| {
        let req = c.get(&url);
        match &token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    })
}

//! HTTP load benchmark against the real release binary (prints a table; asserts nothing):
//!   cargo bench --bench load
//! Seeds a SQLite database (an incident with 1,000 timeline entries, 100,000 incidents for
//! the list), starts `hindsight serve` as a child process, and drives it over loopback with
//! keep-alive clients from this process (which shares the machine's cores with the server).

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::prelude::*;
use hindsight::audit::Actor;
use hindsight::db::schema::incidents;
use hindsight::db::{self, DbUrl};
use hindsight::incidents::{Severity, Status};
use hindsight::postmortems::import::{self, Imported, ImportedEntry};
use hindsight::timeline::EntryKind;

const BIN: &str = env!("CARGO_BIN_EXE_hindsight");

fn cli(db: &str, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string()
}

fn seed(path: &str) {
    let pool = db::connect(&DbUrl::Sqlite(path.into())).unwrap();
    let mut conn = pool.get().unwrap();
    db::migrate(&mut conn).unwrap();
    let start = NaiveDate::from_ymd_opt(2024, 3, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    let mut doc = import::parse("Issue Summary:\nDuration: from 08:00 to 20:00 (UTC) on March 1, 2024\nImpact: Payments failed.\n").unwrap();
    doc.fields.title = "Payment gateway outage".into();
    doc.entries = (0..1000)
        .map(|i| ImportedEntry {
            occurred_at: start + chrono::Duration::seconds(i * 40),
            time_known: true,
            kind: [EntryKind::Action, EntryKind::Note, EntryKind::Investigation][i as usize % 3],
            body: format!(
                "Step {i}: restarted **gw-{}**, see [dashboard](https://grafana.example.com/d/{i})",
                i % 7
            ),
            author: None,
        })
        .collect();
    let seeded: Imported = doc;
    import::store(&mut conn, seeded, &Actor::system("bench")).unwrap();
    // 100,000 more incidents for the list (plain rows, one transaction).
    db::transaction(&mut conn, |conn| {
        for n in 0..100_000 {
            let t = start - chrono::Duration::minutes(n);
            diesel::insert_into(incidents::table)
                .values((
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
                ))
                .execute(conn)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
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
        "| {what:<44} | {rate:>9.0} | {:>7.2} | {:>7.2} | {:>6} | {aim} |",
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

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("load.db").to_string_lossy().into_owned();
    let db = format!("sqlite://{path}");
    let seeding = Instant::now();
    seed(&path);
    cli(
        &db,
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
    let token = cli(&db, &["token", "create", "--username", "bench"], "");
    eprintln!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill the server however this ends (a panic included).
    struct Guard(std::process::Child);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let server = Guard(server);
    let base = format!("http://127.0.0.1:{port}");
    actix_web::rt::System::new().block_on(async move {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            .build()
            .unwrap();
        for _ in 0..200 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(25)).await;
        }
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
        let idle = rss_kib(server.0.id());
        // Sign in for the pages.
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
        let session = signed_in
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("hindsight_session="))
            .and_then(|c| c.split(';').next())
            .unwrap_or_default()
            .to_string();
        let page = client
            .get(format!("{base}/incidents/INC-1"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), reqwest::StatusCode::OK);
        eprintln!(
            "incident page: {} KiB",
            page.bytes().await.unwrap().len() / 1024
        );

        println!("hindsight HTTP load (SQLite, release binary, client in the same 2-core machine)");
        println!(
            "| {:<44} | {:>9} | {:>7} | {:>7} | {:>6} | aim |",
            "what", "req/s", "p50 ms", "p99 ms", "errors"
        );
        println!("|{}|", "-".repeat(100));
        let secs = Duration::from_secs(5);
        let b = base.clone();
        let mut page = drive(
            client.clone(),
            32,
            secs,
            Arc::new(move |c, _| c.get(format!("{b}/incidents/INC-1"))),
        )
        .await;
        row(
            "incident page, 1,000 entries (32 conns)",
            &mut page,
            ">= 2,000 req/s",
        );
        let b = base.clone();
        let t = token.clone();
        let mut appends = drive(
            client.clone(),
            32,
            secs,
            Arc::new(move |c, n| {
                c.post(format!("{b}/api/v1/incidents/INC-2/timeline"))
                    .bearer_auth(&t)
                    .json(&serde_json::json!({"kind": "note", "body": format!("append {n}")}))
            }),
        )
        .await;
        row(
            "timeline appends via API (32 conns)",
            &mut appends,
            ">= 5,000/s, p99 < 50 ms, 0 errors",
        );
        let b = base.clone();
        let t = token.clone();
        let mut list = drive(
            client.clone(),
            1,
            secs,
            Arc::new(move |c, n| {
                c.get(format!("{b}/api/v1/incidents?page={}", 1 + n % 200))
                    .bearer_auth(&t)
            }),
        )
        .await;
        row(
            "API list, 100,001 incidents (1 conn)",
            &mut list,
            "p50 < 5 ms",
        );
        let b = base.clone();
        let mut list_page = drive(
            client.clone(),
            1,
            secs,
            Arc::new(move |c, n| c.get(format!("{b}/incidents?page={}", 1 + n % 200))),
        )
        .await;
        row(
            "incidents page, 100,001 incidents (1 conn)",
            &mut list_page,
            "p50 < 5 ms",
        );
        let b = base.clone();
        let mut filtered = drive(
            client.clone(),
            1,
            secs,
            Arc::new(move |c, _| {
                c.get(format!("{b}/incidents?status=investigating&severity=SEV2"))
            }),
        )
        .await;
        row(
            "incidents page, status+severity filter",
            &mut filtered,
            "p50 < 5 ms",
        );
        let b = base.clone();
        let t = token.clone();
        let mut export = drive(
            client.clone(),
            1,
            secs,
            Arc::new(move |c, _| {
                c.get(format!("{b}/api/v1/incidents/INC-1/postmortem.md"))
                    .bearer_auth(&t)
            }),
        )
        .await;
        row(
            "Markdown export, 1,000 entries (1 conn)",
            &mut export,
            "< 50 ms",
        );
        if let Some(rows) = with_wrk(&base, &session, &token) {
            println!();
            println!("with wrk (a C load generator: less of the 2 cores goes to the client)");
            println!(
                "| {:<44} | {:>9} | {:>7} | {:>7} |",
                "what", "req/s", "p50 ms", "p99 ms"
            );
            println!("|{}|", "-".repeat(78));
            for (what, rate, p50, p99) in rows {
                println!("| {what:<44} | {rate:>9.0} | {p50:>7.2} | {p99:>7.2} |");
            }
        }
        let busy = rss_kib(server.0.id());
        println!(
            "| idle RSS after start: {:.1} MiB; after the runs: {:.1} MiB (aim: idle < 30 MB) |",
            idle as f64 / 1024.0,
            busy as f64 / 1024.0
        );
    });
}

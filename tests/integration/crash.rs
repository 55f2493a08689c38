//! Crash safety and backup with the real binary as a child process.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hindsight::db::DbUrl;
use reqwest::StatusCode;
use serde_json::json;

use crate::binary::{self, cli, ChildServer};
use crate::helpers::*;

fn url_of(storage: &Storage) -> String {
    match &storage.url {
        DbUrl::Sqlite(path) => format!("sqlite://{path}"),
        DbUrl::Postgres(url) => url.clone(),
    }
}

/// Every item of a paginated list endpoint.
async fn all_pages(client: &reqwest::Client, url: &str, token: &str) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    for page in 1.. {
        let res = client
            .get(format!("{url}?per_page=1000&page={page}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let (_, body) = json_of(res).await;
        let batch = body["items"].as_array().cloned().unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        items.extend(batch);
    }
    items
}

async fn wait_ready(port: u16) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
        {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("server on {port} did not start");
}

#[derive(Clone, Debug)]
enum Ack {
    /// Title of an acknowledged incident.
    Incident(String),
    Entry(String),
}

/// 64 writers until the deadline; returns what the server acknowledged (2xx).
async fn write_load(base: String, token: String, writers: usize, until: Instant) -> Vec<Ack> {
    let acked = Arc::new(Mutex::new(Vec::new()));
    // One client (a pool of connections) for all writers: building a client loads the TLS
    // roots, and 64 of those in a row would take the whole load window.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let tasks = (0..writers).map(|w| {
        let (base, token, acked) = (base.clone(), token.clone(), Arc::clone(&acked));
        let client = client.clone();
        async move {
            let mut n = 0;
            while Instant::now() < until {
                n += 1;
                let (path, body, ack) = if n % 4 == 0 {
                    let title = format!("w{w}-i{n}");
                    (
                        "/api/v1/incidents".to_string(),
                        json!({"title": title, "services": ["svc-a", "svc-b"]}),
                        Some(title),
                    )
                } else {
                    (
                        "/api/v1/incidents/INC-1/timeline".to_string(),
                        json!({"kind": "note", "body": format!("w{w}-e{n}")}),
                        None,
                    )
                };
                let res = client
                    .post(format!("{base}{path}"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        let item = match ack {
                            Some(title) => Ack::Incident(title),
                            None => Ack::Entry(body["body"].as_str().unwrap().to_string()),
                        };
                        acked.lock().unwrap().push(item);
                    }
                    Ok(r) => assert!(
                        r.status().is_success(),
                        "a write failed with {}",
                        r.status()
                    ),
                    Err(_) => break, // the server is gone
                }
            }
        }
    });
    futures_util::future::join_all(tasks).await;
    let acked = acked.lock().unwrap().clone();
    acked
}

/// A responder "writer" with an API token, and the binary serving `db` on a free port.
async fn writer_and_server(db: &str) -> (String, ChildServer) {
    cli(
        db,
        &[
            "user",
            "create",
            "--username",
            "writer",
            "--role",
            "responder",
            "--password-stdin",
        ],
        "longenough1\n",
    );
    let token = cli(db, &["token", "create", "--username", "writer"], "");
    let child = ChildServer::start(db);
    wait_ready(child.port).await;
    (token, child)
}

async fn crash_mid_load(backend: Backend) {
    let Some(storage) = Storage::new(backend) else {
        return;
    };
    track_database(&storage.url);
    let db = url_of(&storage);
    let (token, mut child) = writer_and_server(&db).await;
    let base = child.url();
    let api = reqwest::Client::new();
    let res = api
        .post(format!("{base}/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"title": "target"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    // Load for a while, then SIGKILL the server in the middle of it.
    let load = actix_web::rt::spawn(write_load(
        base.clone(),
        token.clone(),
        64,
        Instant::now() + Duration::from_secs(30),
    ));
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    child.kill();
    let acked = load.await.unwrap();
    assert!(
        acked.len() > 50,
        "the load ran ({} writes acknowledged)",
        acked.len()
    );

    // Restart on the same database (the new server reports a port of its own).
    let child = ChildServer::start(&db);
    wait_ready(child.port).await;
    let base = child.url();
    let all = all_pages(&api, &format!("{base}/api/v1/incidents"), &token).await;
    let entries = all_pages(
        &api,
        &format!("{base}/api/v1/incidents/INC-1/timeline"),
        &token,
    )
    .await;
    let bodies: std::collections::HashSet<&str> = entries
        .iter()
        .map(|e| e["body"].as_str().unwrap())
        .collect();
    let all = serde_json::json!({ "items": all });
    let titles: std::collections::HashMap<&str, &serde_json::Value> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["title"].as_str().unwrap(), i))
        .collect();
    for ack in &acked {
        match ack {
            Ack::Entry(body) => assert!(
                bodies.contains(body.as_str()),
                "acknowledged entry {body} lost"
            ),
            Ack::Incident(title) => {
                let incident = titles
                    .get(title.as_str())
                    .unwrap_or_else(|| panic!("acknowledged incident {title} lost"));
                assert_eq!(
                    incident["services"],
                    json!(["svc-a", "svc-b"]),
                    "{title} half written"
                );
            }
        }
    }
    // Nothing half written: every incident that exists has its services and declared entry.
    for incident in all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["title"] != "target")
    {
        assert_eq!(incident["services"], json!(["svc-a", "svc-b"]));
        let key = incident["key"].as_str().unwrap();
        let (_, timeline) = json_of(
            api.get(format!("{base}/api/v1/incidents/{key}/timeline"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(timeline["total"], 1, "{key} has its declared entry");
    }
    drop(child);
    finish().await;
}

#[actix_web::test]
async fn crash_mid_load_sqlite() {
    crash_mid_load(Backend::Sqlite).await;
}

#[actix_web::test]
async fn crash_mid_load_postgres() {
    crash_mid_load(Backend::Postgres).await;
}

/// `hindsight backup` during write load gives a database that opens, migrates and holds
/// every write acknowledged before the backup started.
#[actix_web::test]
async fn backup_during_load() {
    let storage = Storage::new(Backend::Sqlite).unwrap();
    let db = url_of(&storage);
    let (token, mut child) = writer_and_server(&db).await;
    let base = child.url();
    let client = reqwest::Client::new();
    client
        .post(format!("{base}/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"title": "target"}))
        .send()
        .await
        .unwrap();
    let before = write_load(
        base.clone(),
        token.clone(),
        8,
        Instant::now() + Duration::from_millis(500),
    )
    .await;
    let load = actix_web::rt::spawn(write_load(
        base.clone(),
        token.clone(),
        16,
        Instant::now() + Duration::from_secs(2),
    ));
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    let copy_str = copy.to_string_lossy().to_string();
    let db2 = db.clone();
    actix_web::web::block(move || cli(&db2, &["backup", &copy_str], ""))
        .await
        .unwrap();
    let during = load.await.unwrap();
    assert!(!during.is_empty());
    child.kill();

    let copy_url = format!("sqlite://{}", copy.display());
    cli(&copy_url, &["migrate"], "");
    let pool = hindsight::db::connect(&DbUrl::Sqlite(copy.to_string_lossy().into_owned())).unwrap();
    let mut conn = pool.get().unwrap();
    let entries =
        hindsight::timeline::service::list(&mut conn, hindsight::ids::IncidentId(1)).unwrap();
    let bodies: std::collections::HashSet<String> =
        entries.into_iter().map(|e| e.entry.body).collect();
    for ack in before {
        if let Ack::Entry(body) = ack {
            assert!(bodies.contains(&body), "{body} missing from the backup");
        }
    }
    // The backup refuses to overwrite.
    let out = binary::run(&db, &["backup", &copy.to_string_lossy()], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

//! Outbound webhooks against a real HTTP receiver on loopback: signed deliveries, retries
//! with backoff, the delivery log, and deliveries queued across a restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

#[derive(Clone, Debug)]
struct Received {
    event: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Default)]
struct Receiver {
    got: Mutex<Vec<Received>>,
    /// Answer 500 to this many requests first.
    fail_first: Mutex<usize>,
    /// While set, answer 503 and record nothing (the receiver is "down").
    down: std::sync::atomic::AtomicBool,
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<Receiver>) -> HttpResponse {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    if state.down.load(std::sync::atomic::Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    state.got.lock().unwrap().push(Received {
        event: header("x-hindsight-event"),
        timestamp: header("x-hindsight-timestamp"),
        signature: header("x-hindsight-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let mut fail = state.fail_first.lock().unwrap();
    if *fail > 0 {
        *fail -= 1;
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok().finish()
}

fn start_receiver(fail_first: usize) -> (String, Arc<Receiver>, actix_web::dev::ServerHandle) {
    let state = web::Data::new(Receiver {
        got: Mutex::default(),
        fail_first: Mutex::new(fail_first),
        down: Default::default(),
    });
    let shared = state.clone().into_inner();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .default_service(web::to(receive))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (format!("http://127.0.0.1:{port}/hook"), shared, handle)
}

async fn wait_for(receiver: &Receiver, n: usize) -> Vec<Received> {
    for _ in 0..200 {
        let got = receiver.got.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expected {n} deliveries, got {:?}",
        receiver.got.lock().unwrap()
    );
}

async fn webhooks_are_signed_retried_and_logged(app: TestApp) {
    let (url, receiver, handle) = start_receiver(1);
    let admin = app.login_as(Role::Admin).await;
    let res = admin
        .post(
            "/admin/webhooks",
            "/admin/webhooks",
            &[
                ("url", &url),
                ("event_incident.created", "1"),
                ("event_incident.status_changed", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = admin
        .post(
            "/admin/webhooks",
            "/admin/webhooks",
            &[
                ("url", "javascript:alert(1)"),
                ("event_incident.created", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let responder = app.login_as(Role::Responder).await;
    assert_eq!(
        responder.get("/admin/webhooks").await.status(),
        StatusCode::FORBIDDEN
    );

    let api = Api::new(&app, app.token(Role::Responder));
    let (status, _) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Gateway down", "severity": "SEV1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The first attempt gets a 500; the retry succeeds.
    let got = wait_for(&receiver, 2).await;
    assert!(got.iter().all(|r| r.event == "incident.created"));
    assert_eq!(got[0].body, got[1].body, "a retry sends the same payload");
    let payload: serde_json::Value = serde_json::from_str(&got[1].body).unwrap();
    assert_eq!(payload["event"], "incident.created");
    assert_eq!(payload["data"]["key"], "INC-1");
    let mut conn = app.connection();
    let hook = hindsight::webhooks::list(&mut conn).unwrap().remove(0);
    drop(conn);
    let ts: i64 = got[1].timestamp.parse().unwrap();
    assert_eq!(
        got[1].signature,
        hindsight::webhooks::signature(&hook.secret, ts, &got[1].body),
        "HMAC-SHA256 over timestamp.body"
    );

    let (_, incident) = api.get("/api/v1/incidents/INC-1").await;
    api.changed(
        "/api/v1/incidents/INC-1",
        json!({"version": incident["version"], "status": "resolved"}),
    )
    .await;
    let got = wait_for(&receiver, 3).await;
    assert_eq!(got[2].event, "incident.status_changed");
    assert!(got[2]
        .body
        .contains("\"previous_status\":\"investigating\""));
    // Escalations were not subscribed to: nothing queued for them (deliveries are queued in
    // the write's own transaction), so nothing is sent.
    let queued = app.count("webhook_deliveries");
    api.made(
        "/api/v1/incidents/INC-1/escalations",
        json!({"target": "DBA team"}),
    )
    .await;
    assert_eq!(app.count("webhook_deliveries"), queued);
    assert_eq!(receiver.got.lock().unwrap().len(), 3);

    let (_, log) = admin.get_text("/admin/webhooks").await;
    assert!(log.contains("delivered") && log.contains("HTTP 200"));
    handle.stop(false).await;
}
both_backends!(
    webhooks_are_signed_retried_and_logged,
    webhooks_are_signed_retried_and_logged
);

async fn queued_deliveries_survive_a_restart(app: TestApp) {
    // The receiver is down (it keeps its port, so nothing else can take it): deliveries
    // fail and wait in the database for their next attempt.
    let (url, receiver, handle) = start_receiver(0);
    receiver
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut conn = app.connection();
    let events = vec!["escalation.created".to_string()];
    hindsight::webhooks::create(
        &mut conn,
        &url,
        &events,
        hindsight::webhooks::HookFormat::Hindsight,
        false,
        &hindsight::audit::Actor::system("test"),
    )
    .unwrap();
    drop(conn);
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "x"})).await;
    api.made(
        "/api/v1/incidents/INC-1/escalations",
        json!({"target": "DBA team"}),
    )
    .await;
    // The first attempt has failed (recorded) before hindsight stops.
    for tries in 0.. {
        assert!(tries < 200, "a first delivery attempt");
        if app.count_where("webhook_deliveries", "attempts >= 1") == 1 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let storage = app.stop().await;
    assert!(receiver.got.lock().unwrap().is_empty());
    // Bring the receiver back, then restart hindsight: the queued delivery goes out.
    receiver
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let app = start(storage);
    let got = wait_for(&receiver, 1).await;
    assert_eq!(got[0].event, "escalation.created");
    assert!(got[0].body.contains("DBA team"));
    handle.stop(false).await;
    drop(app);
}
both_backends!(
    queued_deliveries_survive_a_restart,
    queued_deliveries_survive_a_restart
);

/// Without `HINDSIGHT_WEBHOOK_ALLOW_PRIVATE`, a hook to a private or local address is
/// refused when saved, and a delivery to one (a name that resolves inward since it was
/// saved) is refused when sent, without a request: the log says so.
async fn private_targets_are_refused(backend: Backend) {
    let Some(storage) = Storage::new(backend) else {
        return;
    };
    let app = start_with(storage, |c| c.webhook_allow_private = false);
    let (url, receiver, handle) = start_receiver(0);
    let admin = app.login_as(Role::Admin).await;
    for target in [
        url.as_str(),
        "http://169.254.169.254/latest/meta-data",
        "http://0x7f000001:22/",
        "http://[::1]/hook",
        "http://localhost/hook",
    ] {
        let res = admin
            .post(
                "/admin/webhooks",
                "/admin/webhooks",
                &[("url", target), ("event_incident.created", "1")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{target}");
        assert!(res
            .text()
            .await
            .unwrap()
            .contains("private or local address"));
    }
    assert_eq!(app.count("webhooks"), 0);
    // Stored some other way (an older version, a database edit): refused at send time.
    let mut conn = app.connection();
    hindsight::webhooks::create(
        &mut conn,
        &url,
        &["incident.created".to_string()],
        hindsight::webhooks::HookFormat::Hindsight,
        false,
        &hindsight::audit::Actor::system("test"),
    )
    .unwrap();
    drop(conn);
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "x"})).await;
    let mut log = String::new();
    for _ in 0..100 {
        log = admin.get_text("/admin/webhooks").await.1;
        if log.contains("refused: private address") {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(log.contains("refused: private address"), "{log}");
    assert!(receiver.got.lock().unwrap().is_empty(), "nothing was sent");
    handle.stop(false).await;
    finish().await;
}

#[actix_web::test]
async fn private_targets_are_refused_sqlite() {
    private_targets_are_refused(Backend::Sqlite).await;
}

#[actix_web::test]
async fn private_targets_are_refused_postgres() {
    private_targets_are_refused(Backend::Postgres).await;
}

/// A hook in the chat format gets what Slack and Mattermost read: `text` and blocks, with a
/// link to the incident at the base URL and user text escaped.
async fn chat_hooks_get_slack_shaped_messages(app: TestApp) {
    let (url, receiver, handle) = start_receiver(0);
    let admin = app.login_as(Role::Admin).await;
    let res = admin
        .post(
            "/admin/webhooks",
            "/admin/webhooks",
            &[
                ("url", &url),
                ("format", "chat"),
                ("event_incident.created", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.get_text("/admin/webhooks").await;
    assert!(page.contains("(chat)"), "the list says which format");
    let api = Api::new(&app, app.token(Role::Responder));
    api.made(
        "/api/v1/incidents",
        json!({"title": "Checkout <500s> & refunds", "severity": "SEV2"}),
    )
    .await;
    let got = wait_for(&receiver, 1).await;
    let body: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "INC-1 declared: SEV2 Checkout &lt;500s&gt; &amp; refunds (investigating)"
        ),
        "{text}"
    );
    assert!(text.contains(&format!(
        "<{}/incidents/INC-1|Open in hindsight>",
        "http://127.0.0.1:0"
    )));
    assert_eq!(body["blocks"][0]["type"], "section");
    // A restricted incident reaches only hooks marked for them: this one is not.
    api.made(
        "/api/v1/incidents",
        json!({"title": "Credential leak", "restricted": true}),
    )
    .await;
    assert_eq!(app.count("webhook_deliveries"), 1);
    handle.stop(false).await;
}
both_backends!(
    chat_hooks_get_slack_shaped_messages,
    chat_hooks_get_slack_shaped_messages
);

//! Chat slash commands against the documented request formats: Slack's signed forms
//! (good, bad, stale and replayed signatures), Mattermost's command token, each
//! subcommand with its helpful error, people mapped by the e-mail a stand-in platform API
//! says it verified (the exact requests hindsight makes are checked) or by the connect
//! link, roles as on the web, restricted incidents answering as missing ones.

use std::sync::{Arc, Mutex};

use hindsight::auth::Role;
use hindsight::chat::config::{ChatConfig, MattermostConfig, SlackConfig};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::both_backends;
use crate::helpers::*;

const SECRET: &str = "test-signing-secret";
const MM_TOKEN: &str = "mm-command-token";

/// What the stand-in platform API was asked: (path and query, Authorization header).
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A stand-in for the handful of platform Web API endpoints hindsight calls: Slack's
/// `users.info` and Mattermost's `GET /api/v4/users/{id}`.
struct StandIn {
    url: String,
    seen: Seen,
    handle: actix_web::dev::ServerHandle,
}

impl StandIn {
    fn start() -> StandIn {
        use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
        let seen: Seen = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = Arc::clone(&seen);
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let kept = Arc::clone(&kept);
                    App::new().default_service(web::to(move |req: HttpRequest| {
                        let kept = Arc::clone(&kept);
                        async move {
                            let auth = req
                                .headers()
                                .get("Authorization")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string();
                            let path = req.uri().to_string();
                            kept.lock().unwrap().push((path.clone(), auth));
                            let user = |id: &str| match id {
                                "U_ANN" | "mm-ann" => Some(("ann@example.test", true)),
                                "U_VIC" => Some(("vic@example.test", true)),
                                "U_UNCONFIRMED" => Some(("otto@example.test", false)),
                                _ => None,
                            };
                            if let Some(id) = path.strip_prefix("/api/users.info?user=") {
                                return match user(id) {
                                    Some((email, ok)) => HttpResponse::Ok().json(json!({"ok": true, "user": {"id": id, "name": id.to_lowercase(), "is_email_confirmed": ok, "profile": {"email": email}}})),
                                    None => HttpResponse::Ok().json(json!({"ok": false, "error": "user_not_found"})),
                                };
                            }
                            if let Some(id) = path.strip_prefix("/api/v4/users/") {
                                return match user(id) {
                                    Some((email, ok)) => HttpResponse::Ok().json(json!({"id": id, "username": "ann", "email": email, "email_verified": ok})),
                                    None => HttpResponse::NotFound().finish(),
                                };
                            }
                            HttpResponse::NotFound().finish()
                        }
                    }))
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .unwrap();
                let addr = server.addrs()[0];
                let running = server.run();
                tx.send((addr, running.handle())).unwrap();
                running.await
            })
        });
        let (addr, handle) = rx.recv().unwrap();
        StandIn {
            url: format!("http://{addr}"),
            seen,
            handle,
        }
    }

    fn config(&self) -> ChatConfig {
        ChatConfig {
            slack: Some(SlackConfig {
                signing_secret: SECRET.into(),
                bot_token: Some("xoxb-test".into()),
                api_url: format!("{}/api", self.url),
                pin_emoji: "pushpin".into(),
            }),
            mattermost: Some(MattermostConfig {
                url: self.url.clone(),
                command_token: MM_TOKEN.into(),
                bot_token: Some("mm-bot".into()),
            }),
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        // The stop is sent at once; its future only waits for it.
        drop(self.handle.stop(false));
    }
}

fn form(user: &str, channel: &str, text: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", "legacy")
        .append_pair("team_id", "T1")
        .append_pair("channel_id", channel)
        .append_pair("user_id", user)
        .append_pair("user_name", &user.to_lowercase())
        .append_pair("command", "/incident")
        .append_pair("text", text)
        .finish()
}

fn sign(timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

async fn post_slack(
    app: &TestApp,
    body: &str,
    timestamp: i64,
    signature: &str,
) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url("/integrations/slack/commands"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Slack-Request-Timestamp", timestamp.to_string())
        .header("X-Slack-Signature", signature)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    json_of(res).await
}

/// A signed slash command from `user` in `channel`: the ephemeral answer's text.
async fn slack(app: &TestApp, user: &str, channel: &str, text: &str) -> String {
    let body = form(user, channel, text);
    let now = chrono::Utc::now().timestamp();
    let (status, answer) = post_slack(app, &body, now, &sign(now, &body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["response_type"], "ephemeral");
    answer["text"].as_str().unwrap().to_string()
}

fn set_email(app: &TestApp, name: &str, email: &str) {
    let mut conn = app.connection();
    let u = hindsight::auth::users::find_by_username(&mut conn, name)
        .unwrap()
        .unwrap();
    hindsight::auth::users::set_email(
        &mut conn,
        u.id,
        email,
        &hindsight::audit::Actor::system("test"),
    )
    .unwrap();
}

fn hhmm_minutes_ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .format("%H:%M")
        .to_string()
}

async fn slack_requests_are_verified(app: TestApp) {
    let api = StandIn::start();
    let chat = api.config();
    let app = app.second_server_with(move |c| c.chat = chat);
    let body = form("U_ANN", "C1", "help");
    let now = chrono::Utc::now().timestamp();
    // Unsigned, wrongly signed, stale, replayed: 401, and nothing else is read.
    let res = reqwest::Client::new()
        .post(app.url("/integrations/slack/commands"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (status, err) = post_slack(&app, &body, now, "v0=00ff").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("signature"));
    let old = now - 6 * 60;
    let (status, err) = post_slack(&app, &body, old, &sign(old, &body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("5 minutes"));
    let signature = sign(now, &body);
    let (status, answer) = post_slack(&app, &body, now, &signature).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer["text"]
        .as_str()
        .unwrap()
        .contains("`log [kind] [HH:MM]"));
    let (status, err) = post_slack(&app, &body, now, &signature).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "replayed");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already"));
    // A body changed after signing.
    let tampered = body.replace("help", "declare+SEV1+x");
    let (status, _) = post_slack(&app, &tampered, now, &signature).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The secret shows nowhere on the admin page; the endpoints do.
    let admin = Browser::new(&app);
    let boss = app.login_as(Role::Admin).await;
    admin.login(&boss.username, PASSWORD).await;
    let (status, page) = admin.get_text("/admin/chat").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("/integrations/slack/commands"));
    assert!(!page.contains(SECRET) && !page.contains("xoxb-test") && !page.contains(MM_TOKEN));
    let viewer = app.login_as(Role::Viewer).await;
    assert_eq!(
        viewer.get("/admin/chat").await.status(),
        StatusCode::FORBIDDEN
    );
    // Not configured on a server: 404.
    let plain = app.second_server();
    let (status, _) = post_slack(&plain, &body, now, &sign(now, &body)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
both_backends!(slack_requests_are_verified, slack_requests_are_verified);

async fn every_subcommand_from_slack(app: TestApp) {
    let api = StandIn::start();
    let chat = api.config();
    let app = app.second_server_with(move |c| c.chat = chat);
    app.create_user("ann", Role::Responder);
    app.create_user("dave", Role::Responder);
    set_email(&app, "ann", "ann@example.test");
    let admin = Api::new(&app, app.token(Role::Admin));
    admin
        .made("/api/v1/teams", json!({"name": "dba", "members": ["dave"]}))
        .await;

    // Ann is found by the e-mail Slack confirmed; the exact request is the documented one.
    let answer = slack(&app, "U_ANN", "C1", "declare sev2 Checkout errors").await;
    assert!(answer.starts_with("Declared INC-1 (SEV2)"), "{answer}");
    assert!(answer.contains("This channel is linked to it."));
    let asked = api.seen.lock().unwrap().clone();
    assert_eq!(
        asked,
        [(
            "/api/users.info?user=U_ANN".to_string(),
            "Bearer xoxb-test".to_string()
        )]
    );
    let (_, incident) = admin.get("/api/v1/incidents/INC-1").await;
    assert_eq!(incident["commander"], "ann");
    assert_eq!(incident["severity"], "SEV2");

    // log in the channel's incident, no key needed; with a kind and a time, read in the
    // caller's zone (an incident that started half an hour ago, named by its key).
    let answer = slack(&app, "U_ANN", "C1", "log restarted gw-3").await;
    assert!(answer.contains("Logged on INC-1 at"), "{answer}");
    let started = chrono::Utc::now() - chrono::Duration::minutes(30);
    admin
        .made(
            "/api/v1/incidents",
            json!({"title": "Ledger lag", "started_at": started.to_rfc3339()}),
        )
        .await;
    let at = hhmm_minutes_ago(5);
    let answer = slack(
        &app,
        "U_ANN",
        "C1",
        &format!("INC-2 log action {at} failed over the ledger"),
    )
    .await;
    assert!(
        answer.contains(&format!("Logged on INC-2 at {at} (Action)")),
        "{answer}"
    );
    let (_, incident) = admin.get("/api/v1/incidents/INC-2").await;
    let entry = incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["body"] == "failed over the ledger")
        .expect("the entry");
    assert_eq!(entry["kind"], "action");
    assert_eq!(entry["author"], "ann");
    assert!(entry["occurred_at"]
        .as_str()
        .unwrap()
        .contains(&format!("T{at}:00")));
    // Before the incident started: refused, saying why.
    let early = (started - chrono::Duration::minutes(10)).format("%H:%M");
    let answer = slack(&app, "U_ANN", "C1", &format!("INC-2 log {early} too early")).await;
    assert!(answer.contains("before this incident started"), "{answer}");
    // Mistakes say what to type instead and change nothing.
    for (text, says) in [
        ("log", "Say what happened"),
        ("status sideways", "Say the new status"),
        ("dance", "is not a command"),
        ("escalate nobody", "Say whom to escalate to"),
        ("task @ann", "Say what is to be done"),
    ] {
        let answer = slack(&app, "U_ANN", "C1", text).await;
        assert!(answer.contains(says), "{text}: {answer}");
    }

    let answer = slack(&app, "U_ANN", "C1", "status identified").await;
    assert!(answer.contains("INC-1 is now identified"), "{answer}");
    let answer = slack(&app, "U_ANN", "C1", "escalate @dba replica lag on ledger").await;
    assert!(answer.contains("Escalated INC-1 to dba"), "{answer}");
    let answer = slack(&app, "U_ANN", "C1", "task @ann Add a lag alert").await;
    assert!(answer.contains("on INC-1"), "{answer}");
    let answer = slack(
        &app,
        "U_ANN",
        "C1",
        "update Checkout fails for 5% of shoppers",
    )
    .await;
    assert!(
        answer.contains("Internal update posted on INC-1"),
        "{answer}"
    );
    let (_, incident) = admin.get("/api/v1/incidents/INC-1").await;
    assert_eq!(incident["status"], "identified");
    assert_eq!(incident["tasks"][0]["title"], "Add a lag alert");
    assert_eq!(incident["tasks"][0]["owner"], "ann");
    assert_eq!(incident["escalations"][0]["target"], "dba");
    let (_, updates) = admin.get("/api/v1/incidents/INC-1/updates").await;
    assert_eq!(
        updates["items"][0]["impact"],
        "Checkout fails for 5% of shoppers"
    );

    // Ann has nothing to acknowledge; Dave (of dba) connects by the link, then acks.
    let answer = slack(&app, "U_ANN", "C1", "ack").await;
    assert!(answer.contains("Nothing on INC-1 is waiting"), "{answer}");
    let answer = slack(&app, "U_DAVE", "C1", "ack").await;
    assert!(answer.contains("Connect your Slack account"), "{answer}");
    let link = answer
        .split_whitespace()
        .find(|w| w.contains("/chat/connect?token="))
        .unwrap();
    let path = &link[link.find("/chat/connect").unwrap()..];
    let dave = Browser::new(&app);
    dave.login("dave", PASSWORD).await;
    let (status, page) = dave.get_text(path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("u_dave"), "{page}");
    let token = path.split("token=").nth(1).unwrap();
    let res = dave.post(path, "/chat/connect", &[("token", token)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Used up.
    assert_eq!(dave.get(path).await.status(), StatusCode::NOT_FOUND);
    let answer = slack(&app, "U_DAVE", "C1", "ack").await;
    assert!(
        answer.contains("Acknowledged on INC-1 (to dba)"),
        "{answer}"
    );
    let (_, incident) = admin.get("/api/v1/incidents/INC-1").await;
    assert_eq!(incident["escalations"][0]["state"], "acknowledged");

    // Elsewhere the key comes first; unlinked, the channel needs it.
    let answer = slack(&app, "U_ANN", "C2", "INC-1 log noted from another channel").await;
    assert!(answer.contains("Logged on INC-1"), "{answer}");
    let answer = slack(&app, "U_ANN", "C1", "unlink").await;
    assert!(answer.contains("no longer linked to INC-1"), "{answer}");
    let answer = slack(&app, "U_ANN", "C1", "log lost").await;
    assert!(answer.contains("No incident here"), "{answer}");
    let answer = slack(&app, "U_ANN", "C1", "link INC-1").await;
    assert!(answer.contains("now linked to INC-1"), "{answer}");

    // Every command is audited with the chat user.
    assert!(
        app.count_where(
            "audit_log",
            "action = 'chat.command' AND detail LIKE 'Slack user U_ANN%' AND ip = 'slack:U_ANN'",
        ) >= 8
    );
    assert_eq!(app.count_where("audit_log", "action = 'chat.connect'"), 1);
}
both_backends!(every_subcommand_from_slack, every_subcommand_from_slack);

async fn chat_keeps_roles_and_restricted_incidents(app: TestApp) {
    let api = StandIn::start();
    let chat = api.config();
    let app = app.second_server_with(move |c| c.chat = chat);
    app.create_user("ann", Role::Responder);
    app.create_user("vic", Role::Viewer);
    set_email(&app, "ann", "ann@example.test");
    set_email(&app, "vic", "vic@example.test");
    let admin = Api::new(&app, app.token(Role::Admin));
    admin
        .made(
            "/api/v1/incidents",
            json!({"title": "Open one", "severity": "SEV3"}),
        )
        .await;
    admin
        .made(
            "/api/v1/incidents",
            json!({"title": "Credential leak", "severity": "SEV1"}),
        )
        .await;
    let (status, _) = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/incidents/INC-2/access",
            json!({"restricted": true, "users": [], "teams": []}),
        )
        .await;
    assert!(status.is_success());

    // A viewer reads help but cannot log.
    let answer = slack(&app, "U_VIC", "C1", "INC-1 log hello").await;
    assert!(answer.contains("may read but not change"), "{answer}");
    // A restricted incident answers as a missing one, by key and by link.
    let hidden = slack(&app, "U_ANN", "C1", "INC-2 log peek").await;
    let missing = slack(&app, "U_ANN", "C1", "INC-99 log peek").await;
    assert_eq!(
        hidden.replace("INC-2", "INC-?"),
        missing.replace("INC-99", "INC-?")
    );
    let answer = slack(&app, "U_ANN", "C1", "link INC-2").await;
    assert_eq!(
        answer.replace("INC-2", "INC-?"),
        missing.replace("INC-99", "INC-?")
    );
    // An unconfirmed e-mail maps no one.
    let answer = slack(&app, "U_UNCONFIRMED", "C1", "INC-1 log x").await;
    assert!(answer.contains("Connect your Slack account"), "{answer}");
    assert_eq!(app.count_where("timeline_entries", "body = 'peek'"), 0);
    assert_eq!(app.count_where("timeline_entries", "body = 'hello'"), 0);

    // Mattermost: the command token, then the same commands.
    let mm = |token: &'static str, text: &'static str| {
        let url = app.url("/integrations/mattermost/commands");
        async move {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("token", token)
                .append_pair("user_id", "mm-ann")
                .append_pair("user_name", "ann")
                .append_pair("channel_id", "mm-channel")
                .append_pair("command", "/incident")
                .append_pair("text", text)
                .finish();
            let res = reqwest::Client::new()
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            json_of(res).await
        }
    };
    let (status, _) = mm("wrong", "help").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, answer) = mm(MM_TOKEN, "INC-1 log from mattermost").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(
        answer["text"].as_str().unwrap().contains("Logged on INC-1"),
        "{answer}"
    );
    assert!(api.seen.lock().unwrap().contains(&(
        "/api/v4/users/mm-ann".to_string(),
        "Bearer mm-bot".to_string()
    )));
}
both_backends!(
    chat_keeps_roles_and_restricted_incidents,
    chat_keeps_roles_and_restricted_incidents
);

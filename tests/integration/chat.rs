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
    /// The JSON bodies POSTed to it: (path, body).
    posted: Arc<Mutex<Vec<(String, Value)>>>,
    handle: actix_web::dev::ServerHandle,
}

impl StandIn {
    fn start() -> StandIn {
        use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
        let seen: Seen = Arc::default();
        let posted: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = Arc::clone(&seen);
        let bodies = Arc::clone(&posted);
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let (kept, bodies) = (Arc::clone(&kept), Arc::clone(&bodies));
                    App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                        let (kept, bodies) = (Arc::clone(&kept), Arc::clone(&bodies));
                        async move {
                            let auth = req
                                .headers()
                                .get("Authorization")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string();
                            let path = req.uri().to_string();
                            if req.method() == actix_web::http::Method::POST {
                                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                                bodies.lock().unwrap().push((path.clone(), json));
                                return HttpResponse::Ok().json(json!({"ok": true}));
                            }
                            kept.lock().unwrap().push((path.clone(), auth));
                            let user = |id: &str| match id {
                                "U_ANN" | "mm-ann" => Some(("ann@example.test", true)),
                                "U_VIC" => Some(("vic@example.test", true)),
                                "U_UNCONFIRMED" => Some(("otto@example.test", false)),
                                "U_BOB" => Some(("bob@elsewhere.test", true)),
                                _ => None,
                            };
                            if let Some(id) = path.strip_prefix("/api/users.info?user=") {
                                return match user(id) {
                                    Some((email, ok)) => HttpResponse::Ok().json(json!({"ok": true, "user": {"id": id, "name": id.to_lowercase(), "is_email_confirmed": ok, "profile": {"email": email}}})),
                                    None => HttpResponse::Ok().json(json!({"ok": false, "error": "user_not_found"})),
                                };
                            }
                            if path.starts_with("/api/chat.getPermalink?") {
                                let ts = path.split("message_ts=").nth(1).unwrap_or("");
                                return HttpResponse::Ok().json(json!({"ok": true, "permalink": format!("https://acme.slack.com/archives/C1/p{}", ts.replace("%2E", "").replace('.', ""))}));
                            }
                            if path.starts_with("/api/reactions.get?") {
                                return HttpResponse::Ok().json(json!({"ok": true, "type": "message", "message": {"text": "Rolled back deploy 42", "user": "U_ANN"}}));
                            }
                            if let Some(id) = path.strip_prefix("/api/v4/posts/") {
                                let at = (chrono::Utc::now() - chrono::Duration::minutes(20)).timestamp_millis();
                                return HttpResponse::Ok().json(json!({"id": id, "message": "DB failover done", "user_id": "mm-ann", "channel_id": "mm-channel", "create_at": at}));
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
            posted,
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

/// Each invocation's own id, as Slack sends (so two identical commands differ).
fn trigger_id() -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!(
        "398738663015.{}",
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

fn form(user: &str, channel: &str, text: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("trigger_id", &trigger_id())
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
        ("declare SEV1", "Say what is happening"),
        ("update", "Say what people need to know"),
        ("link nowhere", "Name the incident"),
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

async fn post_signed(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: &str,
) -> (StatusCode, Value) {
    let now = chrono::Utc::now().timestamp();
    let res = reqwest::Client::new()
        .post(app.url(path))
        .header("Content-Type", content_type)
        .header("X-Slack-Request-Timestamp", now.to_string())
        .header("X-Slack-Signature", sign(now, body))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn entries(app: &TestApp) -> Vec<(String, Option<i32>, Option<String>, String)> {
    use diesel::prelude::*;
    use hindsight::db::schema::timeline_entries;
    let mut conn = app.connection();
    timeline_entries::table
        .filter(
            timeline_entries::body
                .like("%gw-3%")
                .or(timeline_entries::body.like("%deploy 42%")),
        )
        .order(timeline_entries::id.asc())
        .select((
            timeline_entries::body,
            timeline_entries::author_id,
            timeline_entries::imported_author,
            timeline_entries::occurred_at,
        ))
        .load::<(String, Option<i32>, Option<String>, chrono::NaiveDateTime)>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|(b, a, i, t)| (b, a, i, hindsight::time::rfc3339(t)))
        .collect()
}

async fn messages_pinned_from_slack_keep_their_time_and_author(app: TestApp) {
    let api = StandIn::start();
    let chat = api.config();
    let app = app.second_server_with(move |c| c.chat = chat);
    app.create_user("ann", Role::Responder);
    set_email(&app, "ann", "ann@example.test");
    let admin = Api::new(&app, app.token(Role::Admin));
    let started = chrono::Utc::now() - chrono::Duration::hours(2);
    admin
        .made(
            "/api/v1/incidents",
            json!({"title": "Gateway errors", "started_at": started.to_rfc3339()}),
        )
        .await;
    // The Events API's URL check.
    let (status, answer) = post_signed(
        &app,
        "/integrations/slack/events",
        "application/json",
        &json!({"type": "url_verification", "challenge": "3eZbrw1aB"}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["challenge"], "3eZbrw1aB");

    // The shortcut in a channel not linked yet says so.
    let said = chrono::Utc::now() - chrono::Duration::minutes(30);
    let ts = format!("{}.000200", said.timestamp());
    let shortcut = |ts: &str| {
        let payload = json!({"type": "message_action", "callback_id": "add_to_timeline", "trigger_id": trigger_id(),
            "user": {"id": "U_ANN", "name": "ann"}, "channel": {"id": "C1", "name": "inc"},
            "message": {"type": "message", "ts": ts, "user": "U_BOB", "text": "Error rate is 40% on gw-3"},
            "response_url": format!("{}/response", api.url)});
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish()
    };
    let form_type = "application/x-www-form-urlencoded";
    let (_, answer) = post_signed(
        &app,
        "/integrations/slack/interactions",
        form_type,
        &shortcut(&ts),
    )
    .await;
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("link this channel"),
        "{answer}"
    );
    slack(&app, "U_ANN", "C1", "link INC-1").await;
    let (status, answer) = post_signed(
        &app,
        "/integrations/slack/interactions",
        form_type,
        &shortcut(&ts),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("Added to the INC-1 timeline"),
        "{answer}"
    );
    // The answer also went to the shortcut's response_url, for Slack to show.
    assert!(api
        .posted
        .lock()
        .unwrap()
        .iter()
        .any(|(p, b)| p == "/response" && b["text"].as_str().unwrap_or("").contains("INC-1")));
    // Its own time (to the second), its author as text (Bob has no account here), a link back.
    let got = entries(&app);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].0.starts_with("Error rate is 40% on gw-3"));
    assert!(
        got[0]
            .0
            .contains("[View in Slack](https://acme.slack.com/archives/C1/p"),
        "{}",
        got[0].0
    );
    assert_eq!(got[0].1, None);
    assert_eq!(got[0].2.as_deref(), Some("u_bob on Slack"));
    assert_eq!(
        got[0].3,
        hindsight::time::rfc3339(hindsight::chat::pin::slack_time(&ts).unwrap())
    );
    // The same message again: still one entry.
    post_signed(
        &app,
        "/integrations/slack/interactions",
        form_type,
        &shortcut(&ts),
    )
    .await;
    assert_eq!(entries(&app).len(), 1);

    // The pin reaction: its message read with reactions.get; a retry of the event is one entry.
    let later = format!(
        "{}.000900",
        (said + chrono::Duration::minutes(5)).timestamp()
    );
    let event = |id: &str, reaction: &str| {
        json!({"type": "event_callback", "event_id": id, "event": {"type": "reaction_added",
            "user": "U_ANN", "reaction": reaction, "item": {"type": "message", "channel": "C1", "ts": later}}})
        .to_string()
    };
    let (status, _) = post_signed(
        &app,
        "/integrations/slack/events",
        "application/json",
        &event("Ev1", "eyes"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(entries(&app).len(), 1, "another emoji pins nothing");
    for _ in 0..2 {
        let (status, _) = post_signed(
            &app,
            "/integrations/slack/events",
            "application/json",
            &event("Ev2", "pushpin"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let got = entries(&app);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[1].0.starts_with("Rolled back deploy 42"));
    assert!(got[1].1.is_some(), "Ann's own message is hers");
    assert!(api.seen.lock().unwrap().iter().any(|(p, a)| p
        .starts_with("/api/reactions.get?channel=C1&timestamp=")
        && a == "Bearer xoxb-test"));
}
both_backends!(
    messages_pinned_from_slack_keep_their_time_and_author,
    messages_pinned_from_slack_keep_their_time_and_author
);

async fn linked_channels_hear_of_changes_once(app: TestApp) {
    let api = StandIn::start();
    // Two servers with chat on, over one database.
    let (one, two) = (api.config(), api.config());
    let a = app.second_server_with(move |c| c.chat = one);
    let _b = app.second_server_with(move |c| c.chat = two);
    app.create_user("ann", Role::Responder);
    set_email(&app, "ann", "ann@example.test");
    let admin = Api::new(&a, app.token(Role::Admin));
    slack(&a, "U_ANN", "C9", "declare SEV2 Checkout errors").await;
    slack(&a, "U_ANN", "C9", "status identified").await;
    slack(
        &a,
        "U_ANN",
        "C9",
        "escalate @ann need a second pair of eyes",
    )
    .await;
    admin
        .made(
            "/api/v1/incidents/INC-1/updates",
            json!({"impact": "Checkout fails for 5% of shoppers"}),
        )
        .await;
    let posts = || {
        api.posted
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == "/api/chat.postMessage")
            .map(|(_, b)| b.clone())
            .collect::<Vec<_>>()
    };
    for _ in 0..200 {
        let settled = app.count_where(
            "chat_outbox",
            "status = 'pending' OR locked_until IS NOT NULL",
        ) == 0;
        if posts().len() >= 3 && settled {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let posts = posts();
    assert_eq!(posts.len(), 3, "{posts:#?}");
    assert!(posts.iter().all(|p| p["channel"] == "C9"));
    let texts: Vec<&str> = posts.iter().map(|p| p["text"].as_str().unwrap()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("investigating → identified")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("escalated to ann")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Checkout fails for 5% of shoppers")),
        "{texts:?}"
    );
    assert!(texts
        .iter()
        .all(|t| t.contains("/incidents/INC-1|Open in hindsight>")));
    assert_eq!(app.count_where("chat_outbox", "status = 'sent'"), 3);
}
both_backends!(
    linked_channels_hear_of_changes_once,
    linked_channels_hear_of_changes_once
);

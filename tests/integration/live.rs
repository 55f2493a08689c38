//! Live updates: an incident's server-sent events carry each change in the API's shapes, a
//! client that reconnects with `Last-Event-ID` gets exactly what it missed, the streams are
//! authorized like the incident, presence says who is watching, and (on PostgreSQL) an
//! entry written through one server reaches a stream on another, also after the listening
//! connection was cut.

use std::time::{Duration, Instant};

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

#[derive(Debug)]
pub struct SseEvent {
    pub id: Option<i32>,
    pub event: String,
    pub data: Value,
}

/// A server-sent-event client reading one stream.
pub struct Sse {
    res: reqwest::Response,
    buf: String,
}

impl Sse {
    pub async fn open(
        client: &reqwest::Client,
        url: &str,
        token: Option<&str>,
        last_event_id: Option<i32>,
    ) -> Sse {
        let mut req = client.get(url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let res = req.send().await.expect("stream opens");
        assert_eq!(res.status(), StatusCode::OK, "stream status");
        assert_eq!(
            res.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Sse {
            res,
            buf: String::new(),
        }
    }

    /// The next event (presence included when `presence`), or `None` after `wait`.
    pub async fn next(&mut self, wait: Duration, presence: bool) -> Option<SseEvent> {
        let deadline = Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().ok();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if event.is_empty() || (event == "presence" && !presence) {
                    continue; // retry hint, heartbeat
                }
                let data = serde_json::from_str(&data).expect("event data is JSON");
                return Some(SseEvent { id, event, data });
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.res.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// The next `n` non-presence events; fails if they do not come within 5 s each.
    pub async fn take(&mut self, n: usize) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(
                self.next(Duration::from_secs(5), false)
                    .await
                    .unwrap_or_else(|| panic!("event {} of {n} did not come", out.len() + 1)),
            );
        }
        out
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn add_entry(api: &Api, body: &str) -> Value {
    let (status, entry) = api
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"kind": "action", "body": body}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    entry
}

async fn events_carry_changes_and_resume_without_gaps(app: TestApp) {
    let token = app.token(Role::Responder);
    let api = Api::new(&app, token.clone());
    let (_, incident) = api
        .post("/api/v1/incidents", json!({"title": "Checkout errors"}))
        .await;
    let start = incident["event_seq"].as_i64().unwrap() as i32;
    let url = app.url("/api/v1/incidents/INC-1/events");
    let mut sse = Sse::open(&client(), &url, Some(&token), None).await;

    // An added entry arrives as GET …/timeline shows it; edits, deletions and status
    // changes follow, numbered one after another.
    let entry = add_entry(&api, "Restarted gw-3").await;
    let got = sse.take(1).await;
    assert_eq!(got[0].event, "entry.added");
    assert_eq!(got[0].id, Some(start + 1));
    let (_, timeline) = api.get("/api/v1/incidents/INC-1/timeline").await;
    let listed = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == entry["id"])
        .unwrap();
    assert_eq!(&got[0].data, listed);

    let entry_path = format!("/api/v1/incidents/INC-1/timeline/{}", entry["id"]);
    let (status, _) = api
        .patch(&entry_path, json!({"body": "Restarted gw-3 and gw-4"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // A stream reads an event's subject when it sends it (a subject deleted by then is
    // sent as deleted): the edit is taken before the entry goes.
    let edited = sse.take(1).await;
    assert_eq!(edited[0].event, "entry.edited");
    assert_eq!(edited[0].data["body"], "Restarted gw-3 and gw-4");
    let (status, _) = api
        .send(reqwest::Method::DELETE, &entry_path, Value::Null)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": incident["version"], "status": "monitoring"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut got = edited;
    got.extend(sse.take(3).await);
    let kinds: Vec<&str> = got.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "entry.edited",
            "entry.deleted",
            "incident.updated",
            "entry.added"
        ],
        "the status change also logs its entry"
    );
    assert_eq!(got[1].data, json!({"id": entry["id"]}));
    assert_eq!(got[2].data["status"], "monitoring");
    let ids: Vec<i32> = got.iter().map(|e| e.id.unwrap()).collect();
    assert_eq!(ids, (start + 2..start + 6).collect::<Vec<_>>());
    let last = *ids.last().unwrap();

    // Gone for a while: three entries are written meanwhile. Back with Last-Event-ID, the
    // stream sends exactly those, then live ones, each once.
    drop(sse);
    for body in ["one", "two", "three"] {
        add_entry(&api, body).await;
    }
    let mut sse = Sse::open(&client(), &url, Some(&token), Some(last)).await;
    let missed = sse.take(3).await;
    let bodies: Vec<&str> = missed
        .iter()
        .map(|e| e.data["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["one", "two", "three"]);
    assert_eq!(
        missed.iter().map(|e| e.id.unwrap()).collect::<Vec<_>>(),
        [last + 1, last + 2, last + 3]
    );
    add_entry(&api, "four").await;
    let live = sse.take(1).await;
    assert_eq!(live[0].id, Some(last + 4));
    assert_eq!(live[0].data["body"], "four");
    assert!(
        sse.next(Duration::from_millis(300), false).await.is_none(),
        "nothing twice"
    );

    // Tasks, causes and escalations are announced too.
    api.made(
        "/api/v1/incidents/INC-1/tasks",
        json!({"title": "Add a canary"}),
    )
    .await;
    let got = sse.take(1).await;
    assert_eq!(got[0].event, "task.updated");
    assert_eq!(got[0].data["title"], "Add a canary");
}
both_backends!(
    events_carry_changes_and_resume_without_gaps,
    events_carry_changes_and_resume_without_gaps
);

async fn streams_are_authorized_like_the_incident(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "Checkout errors"}))
        .await;
    let c = client();
    // No token, a bad token: 401. Unknown incident: 404.
    let res = c
        .get(app.url("/api/v1/incidents/INC-1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = c
        .get(app.url("/api/v1/incidents/INC-1/events"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let viewer = app.token(Role::Viewer);
    let res = c
        .get(app.url("/api/v1/incidents/INC-9/events"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // A viewer may watch; the page's stream takes the session.
    Sse::open(
        &c,
        &app.url("/api/v1/incidents/INC-1/events"),
        Some(&viewer),
        None,
    )
    .await;
    let anon = Browser::new(&app);
    let res = anon.get("/incidents/INC-1/events").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "to the login page");

    // Presence: two people with the page open see each other, by display name.
    let ann = app.login_as(Role::Viewer).await;
    let rex = app.login_as(Role::Responder).await;
    let mut a = Sse::open(&ann.client, &app.url("/incidents/INC-1/events"), None, None).await;
    let first = a.next(Duration::from_secs(5), true).await.unwrap();
    assert_eq!(first.event, "presence");
    let _r = Sse::open(&rex.client, &app.url("/incidents/INC-1/events"), None, None).await;
    let mut names = vec![];
    while let Some(e) = a.next(Duration::from_secs(2), true).await {
        names = e.data["viewers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["username"].as_str().unwrap().to_string())
            .collect();
        if names.contains(&rex.username) {
            break;
        }
    }
    assert!(names.contains(&rex.username) && names.contains(&ann.username));
    drop(_r);
    let mut gone = false;
    while let Some(e) = a.next(Duration::from_secs(2), true).await {
        if !e.data.to_string().contains(&rex.username) {
            gone = true;
            break;
        }
    }
    assert!(gone, "a closed stream leaves the presence list");

    // The per-person limit answers 429 with a message.
    let limited = app.second_server_with(|c| c.live.max_per_user = 1);
    let token = limited.token(Role::Viewer);
    let url = limited.url("/api/v1/incidents/INC-1/events");
    let _one = Sse::open(&c, &url, Some(&token), None).await;
    let res = c.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        res.headers()["retry-after"],
        "20",
        "pages fall back to polling"
    );
    let (_, body) = json_of(res).await;
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("limit per person"));
}
both_backends!(
    streams_are_authorized_like_the_incident,
    streams_are_authorized_like_the_incident
);

/// Two servers on one PostgreSQL: an entry written through B reaches a stream on A (through
/// `LISTEN/NOTIFY`, well before the 5-second sweep would find it), also after A's listening
/// connection was killed.
#[actix_web::test]
async fn entries_written_on_another_server_arrive() {
    let Some(a) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let b = a.second_server();
    let token = a.token(Role::Responder);
    let api_b = Api::new(&b, token.clone());
    api_b
        .made("/api/v1/incidents", json!({"title": "Checkout errors"}))
        .await;
    let mut sse = Sse::open(
        &client(),
        &a.url("/api/v1/incidents/INC-1/events"),
        Some(&token),
        None,
    )
    .await;
    for round in 0..2 {
        let written = Instant::now();
        add_entry(&api_b, &format!("from B, round {round}")).await;
        let got = sse
            .next(Duration::from_secs(2), false)
            .await
            .unwrap_or_else(|| panic!("round {round}: the entry did not reach server A"));
        println!("round {round}: B → A in {:?}", written.elapsed());
        assert_eq!(got.data["body"], format!("from B, round {round}"));
        // Cut the listening connections; the listener reconnects and the stream goes on.
        let mut conn = a.connection();
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'",
        )
        .execute(&mut conn)
        .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Presence spans the servers: Ann watches on A, Rex on B; each sees the other.
    let ann = a.login_as(Role::Viewer).await;
    let rex = a.login_as(Role::Responder).await;
    let rex_on_b = Browser::new(&b);
    rex_on_b.login(&rex.username, PASSWORD).await;
    let mut on_a = Sse::open(&ann.client, &a.url("/incidents/INC-1/events"), None, None).await;
    let mut on_b = Sse::open(
        &rex_on_b.client,
        &b.url("/incidents/INC-1/events"),
        None,
        None,
    )
    .await;
    for (sse, other) in [(&mut on_a, &rex.username), (&mut on_b, &ann.username)] {
        let mut seen = false;
        while let Some(e) = sse.next(Duration::from_secs(5), true).await {
            if e.event == "presence" && e.data.to_string().contains(other.as_str()) {
                seen = true;
                break;
            }
        }
        assert!(seen, "{other} shows on the other server's stream");
    }
    finish().await;
}

impl Sse {
    /// Reads events until the entry with this body (which must come within 5 s).
    pub async fn read_to(&mut self, body: &str) {
        while let Some(e) = self.next(Duration::from_secs(5), false).await {
            if e.data["body"] == body {
                return;
            }
        }
        panic!("the entry {body:?} did not come");
    }

    /// Reads until the stream ends (`Ok`) or `wait` passes (`Err`); any event other than
    /// presence that arrives first is an `Err` too: a stream that lost access sends nothing.
    pub async fn ends_without_events(&mut self, wait: Duration) -> Result<(), String> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(block) = self
                .buf
                .split("\n\n")
                .find(|b| b.contains("event: ") && !b.contains("event: presence"))
            {
                return Err(format!("an event came after access ended: {block}"));
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Err(format!("still open after {wait:?}"));
            };
            match tokio::time::timeout(left, self.res.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None)) | Ok(Err(_)) => return Ok(()),
                Err(_) => return Err(format!("still open after {wait:?}")),
            }
        }
    }
}

/// Every way of losing access ends an open stream before the next event, well before the
/// 15-second recheck: the incident restricted, removed from its team, token revoked, signed
/// out, demoted from admin; on PostgreSQL also when the change goes through another server.
async fn streams_end_when_access_ends(app: TestApp) {
    for (name, role) in [
        ("cmd", Role::Responder),
        ("out", Role::Responder),
        ("tm", Role::Viewer),
        ("tok", Role::Responder),
        ("sess", Role::Responder),
        ("peer", Role::Admin),
        ("boss", Role::Admin),
    ] {
        app.create_user(name, role);
    }
    let boss = Api::new(&app, app.token_of("boss"));
    let (_, team) = boss
        .post(
            "/api/v1/teams",
            json!({"name": "SecOps", "members": ["tm"]}),
        )
        .await;
    let cmd = Api::new(&app, app.token_of("cmd"));
    cmd.made(
        "/api/v1/incidents",
        json!({"title": "Leaked keys", "commander": "cmd"}),
    )
    .await;
    let url = app.url("/api/v1/incidents/INC-1/events");
    let c = client();
    let wait = Duration::from_secs(4);
    let mut before_restriction = Sse::open(&c, &url, Some(&app.token_of("out")), None).await;
    let tok_token = app.token_of("tok");
    let mut by_token = Sse::open(&c, &url, Some(&tok_token), None).await;
    let mut by_team = Sse::open(&c, &url, Some(&app.token_of("tm")), None).await;
    let mut as_admin = Sse::open(&c, &url, Some(&app.token_of("peer")), None).await;
    let sess = Browser::new(&app);
    sess.login("sess", PASSWORD).await;
    let mut by_session = Sse::open(
        &sess.client,
        &app.url("/incidents/INC-1/events"),
        None,
        None,
    )
    .await;

    // Restricted: out was never a member; its stream ends, and the restriction's own entry
    // (which names the members) does not reach it.
    let (status, _) = cmd
        .send(
            reqwest::Method::PUT,
            "/api/v1/incidents/INC-1/access",
            json!({"restricted": true, "users": ["tok", "sess"], "teams": ["SecOps"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    add_entry(&cmd, "after the restriction").await;
    before_restriction
        .ends_without_events(wait)
        .await
        .expect("restricted: the outsider's stream ends");
    // Members and the admin keep theirs (each reads up to that entry, so that what comes
    // after each next change is only what that change let through).
    for sse in [&mut by_team, &mut by_token, &mut by_session, &mut as_admin] {
        sse.read_to("after the restriction").await;
    }

    // Removed from the team.
    let (status, _) = boss
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/teams/{}", team["id"]),
            json!({"members": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    add_entry(&cmd, "after the team change").await;
    for sse in [&mut by_token, &mut by_session, &mut as_admin] {
        sse.read_to("after the team change").await;
    }
    by_team
        .ends_without_events(wait)
        .await
        .expect("removed from the team: the stream ends");

    // The token revoked (by its owner, signed in).
    let owner = Browser::new(&app);
    owner.login("tok", PASSWORD).await;
    let id = {
        let mut conn = app.connection();
        let user = hindsight::auth::users::find_by_username(&mut conn, "tok")
            .unwrap()
            .unwrap();
        hindsight::auth::tokens::list(&mut conn, Some(user.id)).unwrap()[0]
            .0
            .id
    };
    let res = owner
        .post(
            "/settings/tokens",
            &format!("/settings/tokens/{id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    add_entry(&cmd, "after the revocation").await;
    for sse in [&mut by_session, &mut as_admin] {
        sse.read_to("after the revocation").await;
    }
    by_token
        .ends_without_events(wait)
        .await
        .expect("token revoked: the stream ends");

    // Signed out.
    let res = sess.post("/incidents", "/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    add_entry(&cmd, "after signing out").await;
    as_admin.read_to("after signing out").await;
    by_session
        .ends_without_events(wait)
        .await
        .expect("signed out: the stream ends");

    // An admin (not a member) demoted to responder.
    let admin = Browser::new(&app);
    admin.login("boss", PASSWORD).await;
    let peer_id = {
        let mut conn = app.connection();
        hindsight::auth::users::find_by_username(&mut conn, "peer")
            .unwrap()
            .unwrap()
            .id
    };
    let res = admin
        .post(
            "/admin/users",
            &format!("/admin/users/{peer_id}"),
            &[
                ("role", "responder"),
                ("display_name", "peer"),
                ("email", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    add_entry(&cmd, "after the demotion").await;
    as_admin
        .ends_without_events(wait)
        .await
        .expect("demoted: the stream ends");

    // Through another server (PostgreSQL): a stream on A ends when B opens the incident
    // to all and restricts it again without the reader.
    if matches!(app.url, hindsight::db::DbUrl::Postgres(_)) {
        let b = app.second_server();
        let cmd_b = Api::new(&b, app.token_of("cmd"));
        let reader = app.token_of("sess");
        let mut on_a = Sse::open(&c, &url, Some(&reader), None).await;
        let (status, _) = cmd_b
            .send(
                reqwest::Method::PUT,
                "/api/v1/incidents/INC-1/access",
                json!({"restricted": true, "users": []}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        add_entry(&cmd_b, "after the change on B").await;
        on_a.ends_without_events(wait)
            .await
            .expect("changed through another server: the stream on A ends");
    }
}
both_backends!(streams_end_when_access_ends, streams_end_when_access_ends);

//! Search: every kind of text finds its incident with a marked snippet and a link to the
//! exact place; words, phrases, -words, prefixes, filters and keys as people type them;
//! edits and deletions leave the index in the same write; restricted incidents never
//! surface for outsiders; the migration indexes what was written before it.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

/// The incidents a search answers, by key, and the hits of the first.
async fn search(api: &Api, q: &str) -> (Vec<String>, Vec<Value>) {
    let (status, body) = api.get(&format!("/api/v1/search?q={}", urlencode(q))).await;
    assert_eq!(status, StatusCode::OK, "search {q}: {body}");
    let items = body["items"].as_array().unwrap();
    assert!(body["total"].as_i64().unwrap() as usize >= items.len());
    let keys = items
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect();
    let hits = items
        .first()
        .map(|i| i["hits"].as_array().unwrap().clone())
        .unwrap_or_default();
    (keys, hits)
}

/// A set-up PUT that must succeed.
async fn put(api: &Api, path: &str, body: Value) {
    let (status, answer) = api.send(reqwest::Method::PUT, path, body).await;
    assert!(status.is_success(), "PUT {path}: {status} {answer}");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// INC-1 (a distractor) and INC-2 with one distinctive word in each kind of text; returns
/// the ids of INC-2's entry, cause, task and escalation.
async fn record(api: &Api) -> (i64, i64, i64, i64) {
    api.made(
        "/api/v1/incidents",
        json!({"title": "Checkout latency", "severity": "SEV3", "started_at": "2026-01-05T10:00:00Z"}),
    )
    .await;
    api.made(
        "/api/v1/incidents",
        json!({"title": "Payment gateway outage", "severity": "SEV1", "impact": "Cards declined for shoppers", "services": ["payments"], "started_at": "2026-02-01T10:00:00Z"}),
    )
    .await;
    let entry = api
        .made(
            "/api/v1/incidents/INC-2/timeline",
            json!({"kind": "investigation", "body": "Acquirer timeouts rising on gw-3 & gw-4 (p99 < 2s), <script>alert(1)</script>"}),
        )
        .await;
    let cause = api
        .made(
            "/api/v1/incidents/INC-2/root-causes",
            json!({"kind": "primary", "category": "software", "description": "The acquirer's connection pool was exhausted."}),
        )
        .await;
    let task = api
        .made(
            "/api/v1/incidents/INC-2/tasks",
            json!({"title": "Alert on pool saturation", "description": "Page when the pool is 80% used."}),
        )
        .await;
    let escalation = api
        .made(
            "/api/v1/incidents/INC-2/escalations",
            json!({"target": "DBA team", "reason": "Replication lag on the ledger"}),
        )
        .await;
    put(
        api,
        "/api/v1/incidents/INC-2/postmortem",
        json!({"version": 0, "summary": "Bulkhead the acquirer client.", "resolution": "Raised the pool size."}),
    )
    .await;
    let id = |v: &Value| v["id"].as_i64().unwrap();
    (id(&entry), id(&cause), id(&task), id(&escalation))
}

async fn each_kind_of_text_finds_its_incident(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let (entry, cause, task, escalation) = record(&api).await;
    let expect = [
        ("gateway", "incident", "/incidents/INC-2".to_string()),
        (
            "shoppers",
            "incident",
            "/incidents/INC-2#impact".to_string(),
        ),
        ("timeouts", "entry", format!("/incidents/INC-2#e{entry}")),
        (
            "exhausted",
            "root_cause",
            format!("/incidents/INC-2#c{cause}"),
        ),
        ("saturation", "task", format!("/incidents/INC-2#t{task}")),
        (
            "replication",
            "escalation",
            format!("/incidents/INC-2#x{escalation}"),
        ),
        (
            "bulkhead",
            "postmortem",
            "/incidents/INC-2/postmortem#summary".to_string(),
        ),
    ];
    for (word, kind, url) in &expect {
        let (keys, hits) = search(&api, word).await;
        assert_eq!(keys, ["INC-2"], "{word}");
        // An escalation is also an entry on the timeline: both are found.
        let hit = hits
            .iter()
            .find(|h| h["kind"] == *kind)
            .unwrap_or_else(|| panic!("{word}: no {kind} hit in {hits:?}"));
        assert_eq!(hit["url"], *url, "{word}");
        let snippet = hit["snippet"].as_str().unwrap().to_lowercase();
        assert!(
            snippet.contains(&format!("<mark>{word}</mark>")),
            "{word}: {snippet}"
        );
    }
    // The links lead somewhere: each anchor is on its page.
    let browser = app.login_as(Role::Viewer).await;
    let (_, page) = browser.get_text("/incidents/INC-2").await;
    for anchor in [
        format!("id=e{entry}"),
        format!("id=\"c{cause}\""),
        format!("id=\"t{task}\""),
        format!("id=\"x{escalation}\""),
        "id=\"impact\"".to_string(),
    ] {
        assert!(
            page.contains(&anchor),
            "{anchor} missing on the incident page"
        );
    }
    let (_, pm) = browser.get_text("/incidents/INC-2/postmortem").await;
    assert!(pm.contains("id=\"summary\""));

    // Text is escaped before words are marked; stems match ("timeout" finds "timeouts").
    let (_, hits) = search(&api, "timeout").await;
    let snippet = hits[0]["snippet"].as_str().unwrap();
    assert!(
        // (PostgreSQL's headline leaves HTML tags out of snippets; SQLite's keeps them.)
        snippet.contains("&#38; gw-4 (p99 &#60; 2s)") && !snippet.contains("<script"),
        "{snippet}"
    );
    assert!(snippet.contains("<mark>timeouts</mark>"), "{snippet}");

    // A word in several places lists each, incident fields first.
    let (keys, hits) = search(&api, "acquirer").await;
    assert_eq!(keys, ["INC-2"]);
    let kinds: Vec<&str> = hits.iter().map(|h| h["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["postmortem", "entry", "root_cause"]);

    // The page: the same hits, marked, linked.
    let (status, html) = browser.get_text("/search?q=exhausted").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!("href=\"/incidents/INC-2#c{cause}\"")),
        "{html}"
    );
    assert!(html.contains("<mark>exhausted</mark>"));
    // The list's own search finds words in the record too (it found titles only).
    let (_, list) = api.get("/api/v1/incidents?q=acquirer").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["key"], "INC-2");
}
both_backends!(
    each_kind_of_text_finds_its_incident,
    each_kind_of_text_finds_its_incident
);

async fn phrases_negations_prefixes_filters_and_keys(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    record(&api).await;
    // Phrases keep their order; -word leaves out the texts that have it.
    assert_eq!(search(&api, "\"connection pool\"").await.0, ["INC-2"]);
    assert!(search(&api, "\"pool connection\"").await.0.is_empty());
    let (_, hits) = search(&api, "acquirer -exhausted").await;
    assert!(hits.iter().all(|h| h["kind"] != "root_cause"), "{hits:?}");
    assert!(search(&api, "exhausted -acquirer").await.0.is_empty());
    // A prefix matches the start of a word's stem ("satur" for saturation).
    assert_eq!(search(&api, "satur*").await.0, ["INC-2"]);
    assert_eq!(search(&api, "acq*").await.0, ["INC-2"]);
    // Filters like the list's.
    assert_eq!(search(&api, "acquirer severity:SEV1").await.0, ["INC-2"]);
    assert!(search(&api, "acquirer severity:sev2").await.0.is_empty());
    assert_eq!(search(&api, "acquirer service:payments").await.0, ["INC-2"]);
    assert!(search(&api, "acquirer service:search").await.0.is_empty());
    assert!(search(&api, "acquirer status:resolved").await.0.is_empty());
    assert!(search(&api, "acquirer after:2026-03-01").await.0.is_empty());
    assert_eq!(
        search(&api, "acquirer before:2026-03-01").await.0,
        ["INC-2"]
    );
    assert!(search(&api, "acquirer kind:task").await.0.is_empty());
    assert_eq!(search(&api, "pool kind:task").await.1.len(), 1);
    // Mistakes say what and where, and change nothing.
    for (q, says) in [
        ("acquirer after:yesterday", "after:"),
        ("acquirer kind:ticket", "kind:ticket"),
        ("acquirer severity:SEV9", "severity"),
        ("-acquirer", "word"),
    ] {
        let (status, body) = api.get(&format!("/api/v1/search?q={}", urlencode(q))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {body}");
        assert_eq!(body["error"]["field"], "q", "{q}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{q}: {message}");
    }
    // Characters of either query syntax are only text.
    for q in [
        "acquirer\" OR \"",
        "NEAR(acquirer",
        "acquirer:* | !",
        "'; DROP TABLE incidents; --",
    ] {
        let (status, body) = api.get(&format!("/api/v1/search?q={}", urlencode(q))).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{q}: {status} {body}"
        );
    }
    // Title hits first, then the newest: INC-3 is newer but has "latency" only in an entry.
    api.made(
        "/api/v1/incidents",
        json!({"title": "Disk full on ledger-db", "severity": "SEV2", "started_at": "2026-03-01T10:00:00Z"}),
    )
    .await;
    api.made(
        "/api/v1/incidents/INC-3/timeline",
        json!({"kind": "note", "body": "Write latency climbing"}),
    )
    .await;
    assert_eq!(search(&api, "latency").await.0, ["INC-1", "INC-3"]);
    assert_eq!(search(&api, "ledger").await.0, ["INC-3", "INC-2"]);
    // Keys, as typed: the page goes there, the API says where.
    let browser = app.login_as(Role::Viewer).await;
    for q in ["INC-2", "inc 2", "#2", "2"] {
        let res = browser.get(&format!("/search?q={}", urlencode(q))).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{q}");
        assert_eq!(location(&res), "/incidents/INC-2", "{q}");
        let (_, body) = api.get(&format!("/api/v1/search?q={}", urlencode(q))).await;
        assert_eq!(body["jump"], "INC-2", "{q}");
    }
    // A key that does not exist is searched as text.
    let res = browser.get("/search?q=INC-99").await;
    assert_eq!(res.status(), StatusCode::OK);
}
both_backends!(
    phrases_negations_prefixes_filters_and_keys,
    phrases_negations_prefixes_filters_and_keys
);

/// Edits, deletions and moves leave the index in the write that makes them.
async fn the_index_follows_every_write(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let (entry, cause, task, _) = record(&api).await;
    api.changed(
        &format!("/api/v1/incidents/INC-2/timeline/{entry}"),
        json!({"version": 1, "body": "Issuer throttling"}),
    )
    .await;
    assert!(search(&api, "timeouts").await.0.is_empty());
    assert_eq!(search(&api, "throttling").await.0, ["INC-2"]);
    let (status, _) = api
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/incidents/INC-2/timeline/{entry}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        search(&api, "throttling").await.0.is_empty(),
        "a deleted entry is not found"
    );
    let admin = Api::new(&app, app.token(Role::Admin));
    let (status, _) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/root-causes/{cause}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(search(&api, "exhausted").await.0.is_empty());
    api.changed(
        &format!("/api/v1/tasks/{task}"),
        json!({"version": 1, "title": "Alert on queue depth"}),
    )
    .await;
    assert!(search(&api, "saturation").await.0.is_empty());
    assert_eq!(search(&api, "depth").await.0, ["INC-2"]);
    let (_, incident) = api.get("/api/v1/incidents/INC-2").await;
    api.changed(
        "/api/v1/incidents/INC-2",
        json!({"version": incident["version"], "title": "Card payments failing"}),
    )
    .await;
    assert!(search(&api, "gateway").await.0.is_empty());
    assert_eq!(search(&api, "failing").await.0, ["INC-2"]);
    put(
        &api,
        "/api/v1/incidents/INC-2/postmortem",
        json!({"version": 1, "summary": "Isolate the card client."}),
    )
    .await;
    assert!(search(&api, "bulkhead").await.0.is_empty());
    assert_eq!(search(&api, "isolate").await.0, ["INC-2"]);
    // What was written before the index existed is found once the migration runs.
    let mut conn = app.connection();
    // Back to before the search migration, however many came after it.
    let mut reverted = Vec::new();
    while !reverted
        .last()
        .is_some_and(|m: &String| m.ends_with("000023"))
    {
        reverted.extend(hindsight::db::revert_last_migrations(&mut conn, 1).unwrap());
        assert!(
            reverted.len() < 20,
            "the search migration is 000023: {reverted:?}"
        );
    }
    // (Straight into the table: the server's commits expect the index's queue.)
    diesel::connection::SimpleConnection::batch_execute(
        &mut conn,
        "INSERT INTO timeline_entries (incident_id, occurred_at, time_known, recorded_at, kind, \
         body, body_html, updated_at, version) VALUES (1, '2026-01-05 10:05:00', TRUE, \
         '2026-01-05 10:05:00', 'note', 'Written while unindexed: kaleidoscope', \
         '<p>Written while unindexed: kaleidoscope</p>', '2026-01-05 10:05:00', 1)",
    )
    .unwrap();
    hindsight::db::migrate(&mut conn).unwrap();
    assert_eq!(search(&api, "kaleidoscope").await.0, ["INC-1"]);
    assert_eq!(search(&api, "isolate").await.0, ["INC-2"]);
}
both_backends!(the_index_follows_every_write, the_index_follows_every_write);

/// The words of a restricted incident, wherever they are, never surface for a reader who
/// may not see it: not in search, not by key, not in the list's search.
async fn restricted_words_never_surface(app: TestApp) {
    app.create_user("mem", Role::Responder);
    app.create_user("out", Role::Responder);
    let admin = Api::new(&app, app.token(Role::Admin));
    record(&admin).await;
    put(
        &admin,
        "/api/v1/incidents/INC-2/access",
        json!({"restricted": true, "users": ["mem"], "teams": []}),
    )
    .await;
    let outsider = Api::new(&app, app.token_of("out"));
    let member = Api::new(&app, app.token_of("mem"));
    for word in [
        "gateway",
        "shoppers",
        "timeouts",
        "exhausted",
        "saturation",
        "replication",
        "bulkhead",
    ] {
        let (keys, _) = search(&outsider, word).await;
        assert!(keys.is_empty(), "{word} surfaced for an outsider");
        assert_eq!(
            search(&member, word).await.0,
            ["INC-2"],
            "{word} for a member"
        );
        assert_eq!(
            search(&admin, word).await.0,
            ["INC-2"],
            "{word} for an admin"
        );
    }
    let (_, body) = outsider.get("/api/v1/search?q=INC-2").await;
    assert!(body.get("jump").is_none(), "{body}");
    let (_, list) = outsider.get("/api/v1/incidents?q=acquirer").await;
    assert_eq!(list["total"], 0);
    // The page by key answers as for a missing incident: searched as text, nothing found.
    let mut browser = Browser::new(&app);
    browser.login("out", PASSWORD).await;
    browser.username = "out".into();
    let res = browser.get("/search?q=INC-2").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(!html.contains("Payment gateway"), "{html}");
    let (_, html) = browser.get_text("/search?q=acquirer").await;
    assert!(
        !html.contains("INC-2") && html.contains("Nothing matches"),
        "{html}"
    );
}
both_backends!(
    restricted_words_never_surface,
    restricted_words_never_surface
);

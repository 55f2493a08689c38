//! The timeline through the pages: quick add (now and backdated), Markdown, ordering,
//! edits with revisions, soft deletion with audit.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn quick_add_orders_renders_and_keeps_history(app: TestApp) {
    let browser = app.login_as(Role::Responder).await;
    browser
        .submitted(
            "/incidents/new",
            "/incidents",
            &[
                ("title", "Gateway 502s"),
                ("severity", "SEV1"),
                ("started_at", "2023-06-07 10:00"),
            ],
        )
        .await;
    let entries = [
        (
            "2023-06-07 10:20",
            "action",
            "Restarted **gw-3**, see [runbook](https://runbooks.example.com/gw)",
        ),
        ("2023-06-07 10:00", "detection", "Alert: failed payments"),
        (
            "2023-06-07 11:00",
            "escalation",
            "Paged DBA and network teams",
        ),
        ("2023-06-07 10:40", "misleading", "DB logs looked fine"),
        ("2023-06-08 00:10", "resolution", "Reverted the parameter"),
    ];
    for (time, kind, body) in entries {
        let res = browser
            .post(
                "/incidents/INC-1",
                "/incidents/INC-1/timeline",
                &[("occurred_at", time), ("kind", kind), ("body", body)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        // Back to the page with the entry targeted, saying which (past) date was used.
        let to = location(&res);
        assert!(
            to.starts_with("/incidents/INC-1?recorded=2023-06-0"),
            "{to}"
        );
        assert!(to.contains("#e"), "{to}");
    }
    let (_, noted) = browser
        .get_text("/incidents/INC-1?recorded=2023-06-07T10:40:00Z")
        .await;
    assert!(noted.contains("Recorded at 10:40 on Wednesday 7 June 2023 (UTC), not today."));
    let (_, html) = browser.get_text("/incidents/INC-1").await;
    let order: Vec<usize> = [
        "Alert: failed payments",
        "<strong>gw-3</strong>",
        "DB logs looked fine",
        "Paged DBA",
        "Reverted the parameter",
    ]
    .iter()
    .map(|t| html.find(t).unwrap_or_else(|| panic!("{t} missing")))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "ordered by occurred_at: {order:?}"
    );
    assert!(html.contains("<strong>gw-3</strong>"));
    assert!(
        html.contains("<a href=\"https://runbooks.example.com/gw\" rel=\"noreferrer\">runbook</a>")
    );
    assert!(html.contains("<li class=day><time datetime=2023-06-07>Wed 2023-06-07</time>"));
    assert!(
        html.contains("<time>10:20</time>"),
        "entries say HH:MM under their day"
    );
    assert!(
        html.contains("Thu 2023-06-08"),
        "the date shows when the day changes"
    );
    assert!(html.contains("k-misleading"));

    // A blank time means now.
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/timeline",
            &[
                ("occurred_at", ""),
                ("kind", "note"),
                ("body", "Customer comms sent"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let api = Api::new(&app, app.token(Role::Viewer));
    let (_, list) = api.get("/api/v1/incidents/INC-1/timeline").await;
    let last = list["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["body"], "Customer comms sent");
    let when = chrono::DateTime::parse_from_rfc3339(last["occurred_at"].as_str().unwrap()).unwrap();
    assert!(
        (chrono::Utc::now() - when.with_timezone(&chrono::Utc))
            .num_seconds()
            .abs()
            < 60
    );

    // Errors come back on the page with the text kept; nothing stored.
    let before = app.count("timeline_entries");
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/timeline",
            &[
                ("occurred_at", "25:99"),
                ("kind", "action"),
                ("body", "Keep me"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("Use HH:MM"));
    assert!(page.contains(">Keep me</textarea>"));
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/timeline",
            &[("kind", "action"), ("body", "  ")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("timeline_entries"), before);

    // Edit keeps the old text as a revision.
    let id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["body"].as_str().unwrap().contains("gw-3"))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let edit = format!("/incidents/INC-1/timeline/{id}/edit");
    let (_, form) = browser.get_text(&edit).await;
    assert!(form.contains("name=\"version\" value=\"1\""));
    let res = browser
        .post(
            &edit,
            &edit,
            &[
                ("occurred_at", "2023-06-07 10:21"),
                ("kind", "action"),
                ("body", "Restarted gw-3 and gw-4"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, history) = browser
        .get_text(&format!("/incidents/INC-1/timeline/{id}/revisions"))
        .await;
    assert!(history.contains("Restarted gw-3 and gw-4"));
    assert!(
        history.contains("Restarted **gw-3**"),
        "the previous text is kept"
    );
    // A second edit from the stale form conflicts.
    let res = browser
        .post(
            &edit,
            &edit,
            &[
                ("occurred_at", "2023-06-07 10:21"),
                ("kind", "action"),
                ("body", "stale"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Delete hides it, keeps it in the database and the audit log.
    let res = browser
        .post(
            &edit,
            &format!("/incidents/INC-1/timeline/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = browser.get_text("/incidents/INC-1").await;
    assert!(!html.contains("gw-4"));
    assert_eq!(
        app.count("timeline_entries"),
        before,
        "soft delete keeps the row"
    );
    // …and readable: the timeline links its deleted entries, each with its history.
    assert!(
        html.contains("<a href=/incidents/INC-1/timeline/deleted>1 deleted entry</a>"),
        "{html}"
    );
    let (status, deleted) = browser.get_text("/incidents/INC-1/timeline/deleted").await;
    assert_eq!(status, StatusCode::OK);
    assert!(deleted.contains("Restarted gw-3 and gw-4"), "{deleted}");
    assert!(
        deleted.contains("UTC by "),
        "says when and by whom: {deleted}"
    );
    let (status, history) = browser
        .get_text(&format!("/incidents/INC-1/timeline/{id}/revisions"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(history.contains("Deleted ") && history.contains("Restarted **gw-3**"));
    // Deleting it again, or editing it, finds nothing to change.
    let res = browser
        .post(
            "/incidents/INC-1/timeline/deleted",
            &format!("/incidents/INC-1/timeline/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let admin = app.login_as(Role::Admin).await;
    let (_, audit) = admin.get_text("/audit").await;
    assert!(audit.contains("timeline.delete"));
    assert!(audit.contains("timeline.edit"));
}
both_backends!(
    quick_add_orders_renders_and_keeps_history,
    quick_add_orders_renders_and_keeps_history
);

/// The incident page carries a last-change stamp that its script polls for live updates.
async fn page_stamp_changes_when_someone_logs(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", serde_json::json!({"title": "Live"}))
        .await;
    let viewer = app.login_as(Role::Viewer).await;
    let stamp = |html: &str| {
        html.split("data-updated=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let before = stamp(&viewer.get_text("/incidents/INC-1").await.1);
    assert_eq!(
        before,
        stamp(&viewer.get_text("/incidents/INC-1").await.1),
        "stable while nothing changes"
    );
    api.made(
        "/api/v1/incidents/INC-1/timeline",
        serde_json::json!({"body": "Restarted gw-3"}),
    )
    .await;
    let after = stamp(&viewer.get_text("/incidents/INC-1").await.1);
    assert_ne!(before, after);
    // What the script polls: the same stamp, a few bytes, no page.
    let (status, polled) = viewer.get_text("/incidents/INC-1/stamp").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(polled, after);
    assert_eq!(
        viewer.get("/incidents/INC-99/stamp").await.status(),
        StatusCode::NOT_FOUND
    );
    let anonymous = Browser::new(&app).get("/incidents/INC-1/stamp").await;
    assert_eq!(
        anonymous.status(),
        StatusCode::SEE_OTHER,
        "sign-in required"
    );
}
both_backends!(
    page_stamp_changes_when_someone_logs,
    page_stamp_changes_when_someone_logs
);

/// The page keeps its rendered timeline per timeline revision: every add, edit and delete,
/// made through this server or another one on the same database, shows on the next view,
/// and a viewer's copy (no edit links) never mixes with a responder's.
async fn page_shows_every_change_from_any_server(app: TestApp) {
    let other = app.second_server();
    let here = Api::new(&app, app.token(Role::Responder));
    let there = Api::new(&other, here.token.clone());
    let responder = app.login_as(Role::Responder).await;
    let viewer = app.login_as(Role::Viewer).await;
    let (status, _) = here
        .post(
            "/api/v1/incidents",
            serde_json::json!({"title": "Gateway 502s", "severity": "SEV2"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, first) = here
        .post(
            "/api/v1/incidents/INC-1/timeline",
            serde_json::json!({"body": "First look at gw-3"}),
        )
        .await;
    let page = |b: &Browser| {
        let b = b.client.get(format!("{}/incidents/INC-1", b.base));
        async move { b.send().await.unwrap().text().await.unwrap() }
    };
    let count = |html: &str| -> usize {
        let marker = "Timeline <span class=\"count\">";
        let at = html.find(marker).unwrap() + marker.len();
        html[at..at + html[at..].find('<').unwrap()]
            .parse()
            .unwrap()
    };
    let html = page(&responder).await;
    let before = count(&html);
    assert!(html.contains("First look at gw-3"));
    assert!(
        html.contains(&format!("<a href=?edit={}>edit</a>", first["id"])),
        "responders get edit links"
    );
    // A short link on the page, sent on to the entry's edit page.
    let res = responder
        .client
        .get(format!(
            "{}/incidents/INC-1?edit={}",
            responder.base, first["id"]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        format!("/incidents/INC-1/timeline/{}/edit", first["id"])
    );
    let html = page(&viewer).await;
    assert!(html.contains("First look at gw-3"));
    assert!(!html.contains("?edit="), "viewers get none: {html}");

    // Added elsewhere.
    let (status, _) = there
        .post(
            "/api/v1/incidents/INC-1/timeline",
            serde_json::json!({"body": "Second: rolled back the config"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for b in [&responder, &viewer] {
        let html = page(b).await;
        assert!(html.contains("Second: rolled back the config"));
        assert_eq!(count(&html), before + 1);
    }
    // Edited elsewhere.
    let (status, _) = there
        .patch(
            &format!("/api/v1/incidents/INC-1/timeline/{}", first["id"]),
            serde_json::json!({"body": "First look at gw-4", "version": first["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let html = page(&viewer).await;
    assert!(html.contains("First look at gw-4") && !html.contains("gw-3"));
    assert!(html.contains(&format!("/timeline/{}/revisions>edited</a>", first["id"])));
    // Deleted elsewhere.
    let (status, _) = there
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/incidents/INC-1/timeline/{}", first["id"]),
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let html = page(&responder).await;
    assert!(!html.contains("First look"));
    assert_eq!(count(&html), before);
}
both_backends!(
    page_shows_every_change_from_any_server,
    page_shows_every_change_from_any_server
);

/// A repeated delivery is recognised within its incident only: the same dedupe key on
/// another incident is refused as a conflict (keys are unique across incidents; alert
/// intake puts the incident in them), never the first incident's entry handed back.
async fn dedupe_keys_belong_to_their_incident(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    for title in ["First", "Second"] {
        let (status, _) = api
            .post("/api/v1/incidents", serde_json::json!({"title": title}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mut conn = app.connection();
    let actor = hindsight::audit::Actor::system("test");
    let add = |conn: &mut hindsight::db::DbConnection, incident: i32| {
        let entry = hindsight::timeline::NewEntry {
            dedupe_key: Some("alert-group-7".into()),
            ..hindsight::timeline::NewEntry::now(
                hindsight::timeline::EntryKind::Detection,
                "Alert fired".into(),
                None,
            )
        };
        hindsight::timeline::service::add(conn, hindsight::ids::IncidentId(incident), entry, &actor)
    };
    let first = add(&mut conn, 1).unwrap();
    let again = add(&mut conn, 1).unwrap();
    assert_eq!(
        again.id, first.id,
        "a redelivery on the same incident adds nothing"
    );
    let other = add(&mut conn, 2);
    assert!(
        matches!(other, Err(hindsight::error::AppError::Conflict(_))),
        "not INC-1's entry: {other:?}"
    );
}
both_backends!(
    dedupe_keys_belong_to_their_incident,
    dedupe_keys_belong_to_their_incident
);

/// An entry is one change however the database writes it (PostgreSQL in one statement):
/// the entry, the incident's revision and event number, the live event naming the entry,
/// the audit row and the search index, all together; a time before the start is refused
/// with its reason and writes none of them; said to be before the start, it is kept.
async fn an_entry_is_one_whole_change(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made(
        "/api/v1/incidents",
        json!({"title": "Gateway errors", "started_at": "2026-01-05T10:00:00Z"}),
    )
    .await;
    let counts = || {
        [
            app.count("timeline_entries"),
            app.count("incident_events"),
            app.count_where("audit_log", "action = 'timeline.add'"),
        ]
    };
    let (_, before) = api.get("/api/v1/incidents/INC-1").await;
    let [entries, events, audits] = counts();
    let entry = api
        .made(
            "/api/v1/incidents/INC-1/timeline",
            json!({"kind": "action", "body": "Drained **gw-3** (quokka)", "occurred_at": "2026-01-05T10:20:00Z"}),
        )
        .await;
    assert_eq!(counts(), [entries + 1, events + 1, audits + 1]);
    assert_eq!(entry["kind"], "action");
    assert_eq!(entry["occurred_at"], "2026-01-05T10:20:00Z");
    assert_eq!(entry["body"], "Drained **gw-3** (quokka)");
    assert!(entry["author"].is_string(), "{entry}");
    assert_eq!(
        app.count_where(
            "timeline_entries",
            "body_html LIKE '%<strong>gw-3</strong>%'"
        ),
        1,
        "rendered once, stored with it"
    );
    let id = entry["id"].as_i64().unwrap();
    assert_eq!(
        app.count_where(
            "incident_events",
            &format!(
                "kind = 'entry.added' AND subject_id = {id} AND seq = {}",
                before["event_seq"].as_i64().unwrap_or(0) + 1
            )
        ),
        1,
        "the event names the entry with the next number"
    );
    assert_eq!(
        app.count_where(
            "audit_log",
            &format!("action = 'timeline.add' AND object_id = '{id}' AND detail = 'INC-1 action'")
        ),
        1
    );
    let (_, found) = api.get("/api/v1/search?q=quokka").await;
    assert_eq!(found["items"][0]["hits"][0]["id"], id, "{found}");
    let (_, after) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(
        after["event_seq"].as_i64(),
        before["event_seq"].as_i64().map(|n| n + 1)
    );

    // A tired 05:30 for 10:30: refused with the reason, nothing written.
    let (status, err) = api
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"kind": "action", "body": "Too early", "occurred_at": "2026-01-05T05:30:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "occurred_at");
    assert_eq!(counts(), [entries + 1, events + 1, audits + 1]);
    // Meant: kept.
    api.made(
        "/api/v1/incidents/INC-1/timeline",
        json!({"kind": "detection", "body": "The first alert", "occurred_at": "2026-01-05T05:30:00Z", "before_start": true}),
    )
    .await;
    assert_eq!(counts(), [entries + 2, events + 2, audits + 2]);
    // A missing incident: 404, nothing written.
    let (status, _) = api
        .post(
            "/api/v1/incidents/INC-9/timeline",
            json!({"kind": "action", "body": "Nowhere"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(counts(), [entries + 2, events + 2, audits + 2]);
}
both_backends!(an_entry_is_one_whole_change, an_entry_is_one_whole_change);

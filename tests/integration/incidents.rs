//! Incidents through the pages: declare, view, edit with conflicts, status changes, list
//! filters, and data surviving a restart.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn declare_view_and_resolve(app: TestApp) {
    let browser = app.login_as(Role::Responder).await;
    let res = browser
        .post(
            "/incidents/new",
            "/incidents",
            &[
                ("title", "Payment gateway outage"),
                ("severity", "SEV1"),
                ("status", "investigating"),
                ("impact", "Customers could not pay."),
                ("users_affected_pct", "25"),
                ("services", "payments, checkout, payments"),
                ("started_at", "2023-06-07 10:00"),
                ("detected_at", "2023-06-07 10:00"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let path = location(&res);
    assert_eq!(path, "/incidents/INC-1");
    let (status, html) = browser.get_text(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Payment gateway outage"));
    assert!(html.contains("<span class=\"sev sev1\">SEV1</span>"));
    assert!(html.contains("datetime=\"2023-06-07T10:00:00Z\""));
    assert!(html.contains("25%"));
    assert!(html.contains(">checkout<") && html.contains(">payments<"));
    assert_eq!(
        html.matches(">payments<").count(),
        1,
        "duplicate service names collapse"
    );
    assert!(
        html.contains("Incident declared"),
        "declaring logs a status entry"
    );

    // Resolve from the incident page: a status entry, and resolved_at filled.
    let res = browser
        .post(
            &path,
            "/incidents/INC-1/status",
            &[("status", "resolved"), ("version", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = browser.get_text(&path).await;
    assert!(html.contains("Status changed from investigating to resolved."));
    assert!(html.contains("pill resolved"));
    let api = Api::new(&app, app.token(Role::Viewer));
    let (_, incident) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(incident["status"], "resolved");
    assert!(incident["resolved_at"].is_string());
    assert_eq!(incident["mitigated_at"], incident["resolved_at"]);
    assert_eq!(incident["version"], 2);
}
both_backends!(declare_view_and_resolve, declare_view_and_resolve);

async fn invalid_form_keeps_input_and_stores_nothing(app: TestApp) {
    let browser = app.login_as(Role::Responder).await;
    let res = browser
        .post(
            "/incidents/new",
            "/incidents",
            &[
                ("title", "Slow search"),
                ("severity", "SEV2"),
                ("started_at", "2023-06-07 10:00"),
                ("resolved_at", "2023-06-07 09:00"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("can&#39;t be before started")
            || html.contains("can't be before started")
            || html.contains("can&#x27;t be before started"),
        "{html}"
    );
    assert!(
        html.contains("value=\"Slow search\""),
        "the title typed is kept"
    );
    assert!(html.contains(
        "name=\"resolved_at\" value=\"2023-06-07 09:00\" class=\"mono\" aria-invalid=\"true\""
    ));

    let res = browser
        .post(
            "/incidents/new",
            "/incidents",
            &[("title", "   "), ("severity", "SEV2")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Title is required."));
    let res = browser
        .post(
            "/incidents/new",
            "/incidents",
            &[("title", "x"), ("severity", "SEV9")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = browser
        .post(
            "/incidents/new",
            "/incidents",
            &[("title", "x"), ("started_at", "yesterday-ish")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("YYYY-MM-DD HH:MM"));
    assert_eq!(app.count("incidents"), 0);
    assert_eq!(app.count("timeline_entries"), 0);
}
both_backends!(
    invalid_form_keeps_input_and_stores_nothing,
    invalid_form_keeps_input_and_stores_nothing
);

async fn stale_edit_is_a_conflict_that_shows_what_changed(app: TestApp) {
    let alice = app.login_as(Role::Responder).await;
    let bob = app.login_as(Role::Responder).await;
    alice
        .submitted(
            "/incidents/new",
            "/incidents",
            &[
                ("title", "DNS flaps"),
                ("severity", "SEV3"),
                ("started_at", "2023-06-07 10:00"),
            ],
        )
        .await;
    // Both open the edit form at version 1; Bob saves first.
    let (_, alice_form) = alice.get_text("/incidents/INC-1/edit").await;
    assert!(alice_form.contains("name=\"version\" value=\"1\""));
    let res = bob
        .post(
            "/incidents/INC-1/edit",
            "/incidents/INC-1/edit",
            &[
                ("title", "DNS flaps"),
                ("severity", "SEV1"),
                ("status", "identified"),
                ("started_at", "2023-06-07 10:00"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let csrf = csrf_token(&alice_form).unwrap();
    let res = alice
        .post_raw(
            "/incidents/INC-1/edit",
            &[
                ("csrf_token", &csrf),
                ("title", "DNS flapping in eu-west"),
                ("severity", "SEV2"),
                ("status", "investigating"),
                ("started_at", "2023-06-07 10:00"),
                ("version", "1"),
            ],
        )
        .await;
    let status = res.status();
    let html = res.text().await.unwrap();
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("changed by someone else"));
    // Both changed severity: both values are offered. Bob's status change, which Alice
    // did not touch, is merged into her form instead of being undone by it, and her title,
    // which Bob did not touch, is kept. One message.
    assert!(
        html.contains("you both changed severity: choose a value"),
        "{html}"
    );
    assert!(html.contains("name=\"pick_severity\" value=\"theirs\" required> <span>SEV1</span>"));
    assert!(html.contains("name=\"pick_severity\" value=\"mine\" required> <span>SEV2</span>"));
    assert!(
        !html.contains("name=\"pick_status\""),
        "only fields both changed"
    );
    assert!(
        !html.contains("name=\"pick_title\""),
        "only fields both changed"
    );
    assert!(
        html.contains("value=\"DNS flapping in eu-west\""),
        "keeps Alice's input"
    );
    assert!(
        html.contains("<option value=\"identified\" selected>"),
        "Bob's status merged in"
    );
    assert!(
        html.contains("name=\"version\" value=\"2\""),
        "on the saved version"
    );
    let api = Api::new(&app, app.token(Role::Viewer));
    let (_, incident) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(incident["title"], "DNS flaps", "nothing overwritten");
    assert_eq!(incident["severity"], "SEV1");

    // Alice keeps Bob's severity and saves the merged form: her title, his severity and
    // status.
    let merged_csrf = csrf_token(&html).unwrap();
    let res = alice
        .post_raw(
            "/incidents/INC-1/edit",
            &[
                ("csrf_token", &merged_csrf),
                ("title", "DNS flapping in eu-west"),
                ("severity", "SEV2"),
                ("status", "identified"),
                ("started_at", "2023-06-07 10:00"),
                (
                    "acknowledged_at",
                    incident["acknowledged_at"].as_str().unwrap(),
                ),
                ("version", "2"),
                ("pick_severity", "theirs"),
            ],
        )
        .await;
    let status = res.status();
    let page = res.text().await.unwrap();
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let (_, incident) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(incident["title"], "DNS flapping in eu-west");
    assert_eq!(incident["severity"], "SEV1");
    assert_eq!(incident["status"], "identified");
    assert_eq!(incident["version"], 3);
}
both_backends!(
    stale_edit_is_a_conflict_that_shows_what_changed,
    stale_edit_is_a_conflict_that_shows_what_changed
);

async fn list_filters_sorts_and_paginates(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    for (i, (sev, service, status)) in [
        ("SEV1", "payments", "investigating"),
        ("SEV2", "search", "resolved"),
        ("SEV2", "payments", "monitoring"),
    ]
    .iter()
    .enumerate()
    {
        let (code, _) = api
            .post(
                "/api/v1/incidents",
                json!({"title": format!("Incident {i} 100%_done"), "severity": sev, "status": status, "services": [service],
                       "started_at": format!("2023-06-0{}T10:00:00Z", i + 1)}),
            )
            .await;
        assert_eq!(code, StatusCode::CREATED);
    }
    let (_, all) = api.get("/api/v1/incidents").await;
    assert_eq!(all["total"], 3);
    assert_eq!(all["items"][0]["key"], "INC-3", "newest first");
    let (_, sev2) = api.get("/api/v1/incidents?severity=SEV2").await;
    assert_eq!(sev2["total"], 2);
    let (_, payments) = api
        .get("/api/v1/incidents?service=payments&status=open")
        .await;
    assert_eq!(payments["total"], 2);
    let (_, q) = api.get("/api/v1/incidents?q=incident%201").await;
    assert_eq!(q["total"], 1);
    let (_, literal) = api.get("/api/v1/incidents?q=0%25_").await;
    assert_eq!(literal["total"], 3, "% and _ match literally");
    let (_, nothing) = api.get("/api/v1/incidents?q=x%25").await;
    assert_eq!(nothing["total"], 0);
    let (_, range) = api
        .get("/api/v1/incidents?since=2023-06-02&until=2023-06-02")
        .await;
    assert_eq!(range["total"], 1);
    assert_eq!(range["items"][0]["key"], "INC-2");
    let (_, page2) = api.get("/api/v1/incidents?per_page=2&page=2").await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_eq!(page2["page"], 2);
    assert_eq!(page2["per_page"], 2);
    let (code, body) = api.get("/api/v1/incidents?per_page=5000").await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "per_page");

    let browser = app.login_as(Role::Viewer).await;
    let (status, html) = browser
        .get_text("/incidents?severity=SEV2&sort=oldest")
        .await;
    assert_eq!(status, StatusCode::OK);
    let first = html.find("INC-2").unwrap();
    let second = html.find("INC-3").unwrap();
    assert!(first < second, "oldest first");
    assert!(!html.contains("/incidents/INC-1\""));
    let (_, bad) = browser.get_text("/incidents?status=exploded").await;
    assert!(bad.contains("status must be one of"));
}
both_backends!(
    list_filters_sorts_and_paginates,
    list_filters_sorts_and_paginates
);

async fn data_survives_a_restart(app: TestApp) {
    let browser = app.login_as(Role::Responder).await;
    browser
        .submitted(
            "/incidents/new",
            "/incidents",
            &[("title", "Disk full on db-2"), ("severity", "SEV2")],
        )
        .await;
    // Half an hour ago as HH:MM (a fixed clock time is "later today" for 15 minutes of
    // every day: typed times may be a little ahead).
    let earlier = (chrono::Utc::now() - chrono::Duration::minutes(30))
        .format("%H:%M")
        .to_string();
    for (time, body) in [
        (earlier.as_str(), "Earlier: disk alarm"),
        ("", "Freed 20 GB"),
    ] {
        let res = browser
            .post(
                "/incidents/INC-1",
                "/incidents/INC-1/timeline",
                // Before the incident was declared: context, meant as such.
                &[
                    ("occurred_at", time),
                    ("kind", "action"),
                    ("body", body),
                    ("before_start", "on"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    let viewer = app.login_as(Role::Viewer).await;
    let before = viewer.get_text("/incidents/INC-1").await.1;
    let storage = app.stop().await;
    let app = start(storage);
    assert!(app.setup_url.is_none(), "no setup link once users exist");
    let viewer_again = Browser::new(&app);
    assert_eq!(
        viewer_again
            .login(&viewer.username, PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let (status, after) = viewer_again.get_text("/incidents/INC-1").await;
    assert_eq!(status, StatusCode::OK);
    for text in ["Disk full on db-2", "Earlier: disk alarm", "Freed 20 GB"] {
        assert!(after.contains(text), "{text} survives");
    }
    let timeline = |html: &str| {
        html[html.find("<ol class=\"timeline\">").unwrap()..]
            .split("</ol>")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        timeline(&before),
        timeline(&after),
        "same entries, same order, same times"
    );
    let earlier = after.find("Earlier: disk alarm").unwrap();
    let freed = after.find("Freed 20 GB").unwrap();
    assert!(
        earlier < freed,
        "backdated entry sorts first: {}",
        timeline(&after)
    );
}
both_backends!(data_survives_a_restart, data_survives_a_restart);

/// Text search finds substrings of titles and impacts in any case, follows edits, and takes
/// search-engine syntax and quotes as plain text (SQLite answers it from a trigram index).
async fn search_finds_substrings_and_follows_edits(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    for (title, impact) in [
        (
            "DNS resolver flaps",
            "Checkout saw \"timeouts\" for 5% of users",
        ),
        ("Payment gateway 502s", "Card payments failed: OR NEAR(x) *"),
        ("Disk full on db-2", ""),
    ] {
        let (code, _) = api
            .post(
                "/api/v1/incidents",
                json!({"title": title, "impact": impact, "severity": "SEV2"}),
            )
            .await;
        assert_eq!(code, StatusCode::CREATED);
    }
    let total = |q: &'static str| {
        let api = &api;
        async move {
            let path = format!(
                "/api/v1/incidents?q={}",
                percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC)
            );
            let (code, body) = api.get(&path).await;
            assert_eq!(code, StatusCode::OK, "{q}: {body}");
            body["total"].as_i64().unwrap()
        }
    };
    assert_eq!(total("dns").await, 1, "any case");
    assert_eq!(total("RESOLVER FL").await, 1, "a substring across words");
    assert_eq!(total("way 50").await, 1);
    assert_eq!(total("checkout").await, 1, "impact too");
    assert_eq!(total("\"timeouts\"").await, 1, "quotes are text");
    assert_eq!(total("OR NEAR(x) *").await, 1, "search syntax is text");
    assert_eq!(total("5%").await, 1, "short: % is literal");
    assert_eq!(total("db").await, 1, "two characters");
    assert_eq!(total("payments failed").await, 1);
    assert_eq!(total("no such words").await, 0);

    let (_, incident) = api.get("/api/v1/incidents/INC-3").await;
    let (code, _) = api
        .patch(
            "/api/v1/incidents/INC-3",
            json!({"title": "Volume exhausted on db-2", "version": incident["version"]}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        total("disk full").await,
        0,
        "the old title is gone from the index"
    );
    assert_eq!(total("volume exh").await, 1);
    // Timeline appends touch the incident but not its text.
    api.made(
        "/api/v1/incidents/INC-3/timeline",
        json!({"body": "Grew the volume"}),
    )
    .await;
    assert_eq!(total("volume exh").await, 1);
}
both_backends!(
    search_finds_substrings_and_follows_edits,
    search_finds_substrings_and_follows_edits
);

/// Date filters mean the same on both databases: half-open [since, until), a bare `until`
/// date including its whole day, up to the last storable instant.
async fn date_filters_agree_on_both_databases(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    for (title, at) in [
        ("last instant", "2024-06-01T00:00:00Z"),
        ("new year", "2024-01-01T00:00:00Z"),
        ("eve", "2023-12-31T23:59:59.999999Z"),
    ] {
        let (status, body) = api
            .post(
                "/api/v1/incidents",
                json!({"title": title, "started_at": at}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // The last storable instant cannot be typed (it is in the future): put it there.
    {
        use diesel::prelude::*;
        use hindsight::db::schema::incidents;
        let last = chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 999)
            .unwrap();
        diesel::update(incidents::table.filter(incidents::title.eq("last instant")))
            .set(incidents::started_at.eq(last))
            .execute(&mut app.connection())
            .unwrap();
    }
    let titles = |body: serde_json::Value| -> Vec<String> {
        let mut t: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect();
        t.sort();
        t
    };
    for (query, expected) in [
        ("until=9999-12-31", vec!["eve", "last instant", "new year"]),
        ("since=9999-12-31", vec!["last instant"]),
        ("until=2023-12-31", vec!["eve"]),
        ("since=2024-01-01&until=2024-01-01", vec!["new year"]),
        ("until=2024-01-01T00:00:00Z", vec!["eve"]),
        (
            "since=2023-12-31T23:59:59.999999Z&until=2024-01-01T00:00:00.000001Z",
            vec!["eve", "new year"],
        ),
    ] {
        let (status, body) = api.get(&format!("/api/v1/incidents?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(titles(body), expected, "{query}");
    }
}
both_backends!(
    date_filters_agree_on_both_databases,
    date_filters_agree_on_both_databases
);

/// The automatic "Incident declared" entry quotes the title as plain text.
async fn declared_entry_shows_the_title_as_written(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, _) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Checkout <b>fails</b> for *some* users"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let browser = app.login_as(Role::Viewer).await;
    let (_, page) = browser.get_text("/incidents/INC-1").await;
    assert!(
        page.contains("SEV3 Checkout &lt;b&gt;fails&lt;/b&gt; for *some* users"),
        "{page}"
    );
    assert!(!page.contains("<b>fails</b>") && !page.contains("<em>some</em>"));
}
both_backends!(
    declared_entry_shows_the_title_as_written,
    declared_entry_shows_the_title_as_written
);

/// List totals come from counts the database keeps by status and severity: after
/// declarations, status and severity changes, an import and a restricted incident, every
/// status × severity filter's total is exactly the rows it lists, for a reader who may not
/// see the restricted one too, and the kept counts equal a fresh count.
async fn list_totals_stay_exact(app: TestApp) {
    let admin = Api::new(&app, app.token(Role::Admin));
    let viewer = Api::new(&app, app.token(Role::Viewer));
    for (title, severity) in [("a", "SEV1"), ("b", "SEV2"), ("c", "SEV2"), ("d", "SEV3")] {
        let (status, body) = admin
            .post(
                "/api/v1/incidents",
                json!({"title": title, "severity": severity}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = admin
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 1, "status": "resolved"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = admin
        .patch(
            "/api/v1/incidents/INC-2",
            json!({"version": 1, "severity": "SEV4"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let doc = include_str!("../fixtures/payment-gateway-2023-06-07.txt");
    let res = admin
        .client
        .post(format!("{}/api/v1/import", admin.base))
        .bearer_auth(&admin.token)
        .header("content-type", "text/markdown")
        .body(doc)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let (status, body) = admin
        .post(
            "/api/v1/incidents",
            json!({"title": "secret", "severity": "SEV2", "restricted": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    for (who, api, all) in [("admin", &admin, 6), ("viewer", &viewer, 5)] {
        let (_, everything) = api.get("/api/v1/incidents?per_page=100").await;
        assert_eq!(everything["total"], all, "{who}: {everything}");
        for status in ["", "investigating", "resolved", "open"] {
            for severity in ["", "SEV1", "SEV2", "SEV4"] {
                let (code, body) = api
                    .get(&format!(
                        "/api/v1/incidents?per_page=100&status={status}&severity={severity}"
                    ))
                    .await;
                assert_eq!(code, StatusCode::OK, "{body}");
                assert_eq!(
                    body["total"].as_u64().unwrap() as usize,
                    body["items"].as_array().unwrap().len(),
                    "{who}, status {status:?}, severity {severity:?}: {body}"
                );
            }
        }
    }

    use diesel::prelude::*;
    use hindsight::db::schema::{incident_counts, incidents};
    let mut conn = app.connection();
    let mut kept: Vec<(String, String, i64)> = incident_counts::table
        .filter(incident_counts::n.ne(0))
        .select((
            incident_counts::status,
            incident_counts::severity,
            incident_counts::n,
        ))
        .load(&mut conn)
        .unwrap();
    kept.sort();
    let mut counted: Vec<(String, String, i64)> = incidents::table
        .group_by((incidents::status, incidents::severity))
        .select((
            incidents::status,
            incidents::severity,
            diesel::dsl::count_star(),
        ))
        .load::<(
            hindsight::incidents::Status,
            hindsight::incidents::Severity,
            i64,
        )>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|(s, v, n)| (s.as_str().to_string(), v.as_str().to_string(), n))
        .collect();
    counted.sort();
    assert_eq!(kept, counted);
}
both_backends!(list_totals_stay_exact, list_totals_stay_exact);

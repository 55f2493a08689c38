//! The managers' board: the seed incident's four tasks, overdue filter, CSV, grouping,
//! inline changes, and a fixed number of queries whatever the page length.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

/// The seed postmortem's tasks, two of them past due.
async fn seed_tasks(app: &TestApp, api: &Api) {
    app.create_user("dana", Role::Responder);
    app.create_user("omar", Role::Responder);
    api.made(
        "/api/v1/incidents",
        json!({"title": "Payment gateway outage", "severity": "SEV1"}),
    )
    .await;
    api.made(
        "/api/v1/incidents",
        json!({"title": "Search slow", "severity": "SEV3"}),
    )
    .await;
    let today = chrono::Utc::now().date_naive();
    let past = (today - chrono::Duration::days(10)).to_string();
    let future = (today + chrono::Duration::days(20)).to_string();
    for (title, owner, team, due, link) in [
        (
            "Review the change management process and add safeguards",
            "dana",
            "platform",
            past.as_str(),
            "",
        ),
        (
            "Real-time transaction volume tracking with alerts",
            "omar",
            "observability",
            past.as_str(),
            "https://tracker.example.com/OBS-7",
        ),
        (
            "Review gateway software for hidden misconfigurations",
            "dana",
            "payments",
            future.as_str(),
            "",
        ),
        (
            "=HYPERLINK(\"http://evil.example\",\"Schedule configuration training\")",
            "omar",
            "ops",
            future.as_str(),
            "",
        ),
    ] {
        let (status, body) = api
            .post("/api/v1/incidents/INC-1/tasks", json!({"title": title, "owner": owner, "team": team, "due_on": due, "external_url": link, "kind": "prevent"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, _) = api
        .post(
            "/api/v1/incidents/INC-2/tasks",
            json!({"title": "Tune search cache", "priority": "low"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn overdue_filter_csv_and_groups(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    seed_tasks(&app, &api).await;
    let manager = app.login_as(Role::Viewer).await;

    let (status, html) = manager.get_text("/tasks?overdue=true").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Action items <span class=\"count\">2</span>"));
    assert!(html.contains("Review the change management process"));
    assert!(html.contains("Real-time transaction volume tracking"));
    assert!(!html.contains("hidden misconfigurations"));
    assert_eq!(html.matches("class=\"overdue\"").count(), 2);
    assert!(!html.contains("/quick"), "viewers get no inline edit forms");

    let res = manager.get("/tasks.csv?overdue=true").await;
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    let body = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "incident");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2, "exactly the filtered set");
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("incident")], "INC-1");
    assert_eq!(&rows[0][col("severity")], "SEV1");
    assert_eq!(&rows[0][col("overdue")], "true");
    let owners: Vec<&str> = rows.iter().map(|r| &r[col("owner")]).collect();
    assert!(owners.contains(&"dana") && owners.contains(&"omar"));
    assert!(rows
        .iter()
        .any(|r| &r[col("external_url")] == "https://tracker.example.com/OBS-7"));

    // Formula injection is neutralised in the export.
    let all = manager.get("/tasks.csv").await.text().await.unwrap();
    assert!(all.contains("\"'=HYPERLINK("), "{all}");
    assert_eq!(
        csv::Reader::from_reader(all.as_bytes()).records().count(),
        5
    );

    // The same filters through the API.
    let viewer_api = Api::new(&app, app.token(Role::Viewer));
    let (_, overdue) = viewer_api.get("/api/v1/tasks?overdue=true").await;
    assert_eq!(overdue["total"], 2);
    assert!(overdue["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["overdue"] == true));
    let (_, dana) = viewer_api.get("/api/v1/tasks?owner=dana&status=open").await;
    assert_eq!(dana["total"], 2);
    let (_, sev3) = viewer_api.get("/api/v1/tasks?severity=SEV3").await;
    assert_eq!(sev3["total"], 1);
    let (_, nolink) = viewer_api
        .get("/api/v1/tasks?no_link=true&incident=INC-1")
        .await;
    assert_eq!(nolink["total"], 3);
    let (_, by_priority) = viewer_api.get("/api/v1/tasks?sort=priority").await;
    assert_eq!(
        by_priority["items"].as_array().unwrap().last().unwrap()["title"],
        "Tune search cache"
    );
    let (status, err) = viewer_api.get("/api/v1/tasks?owner=ghost").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "owner");
    let (status, _) = viewer_api.get("/api/v1/tasks?due_from=soon").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Grouped by owner with counts.
    let (_, grouped) = manager.get_text("/tasks?group=owner").await;
    assert!(grouped.contains("<td>dana</td><td class=\"mono\">2</td><td class=\"mono\">1</td><td class=\"mono\">0</td>"), "{grouped}");
    assert!(grouped.contains("<td>Nobody</td><td class=\"mono\">1</td>"));
    // The summary names groups as the headings below do, in their order (nobody last).
    assert!(
        grouped.find("<td>dana</td>").unwrap() < grouped.find("<td>Nobody</td>").unwrap(),
        "summary order"
    );
    // The rows below are grouped too: one heading per owner, each owner's rows together,
    // nobody's last (before, only the count table changed).
    let sections: Vec<&str> = grouped
        .split("<tr class=\"group-head\"><th colspan=\"7\" scope=\"rowgroup\">")
        .skip(1)
        .collect();
    let heads: Vec<&str> = sections
        .iter()
        .map(|s| s.split('<').next().unwrap())
        .collect();
    assert_eq!(heads.len(), 3, "{heads:?}");
    assert_eq!(heads.last(), Some(&"Nobody"));
    let of = |name: &str| *sections.iter().find(|s| s.starts_with(name)).unwrap();
    for title in ["Review the change management", "Review gateway software"] {
        assert!(of("dana").contains(title), "{title} under dana");
        assert!(!of("omar").contains(title));
    }
    assert!(of("omar").contains("Real-time transaction volume tracking"));
    assert!(of("Nobody").contains("Tune search cache"));
    // Within a group, by due date: the overdue one first.
    assert!(
        of("dana").find("Review the change management").unwrap()
            < of("dana").find("Review gateway software").unwrap()
    );

    // Groups follow names, not account ages: aaron, made last, comes first; a team
    // written in capitals sorts among the others, in the summary and the headings alike.
    app.create_user("aaron", Role::Responder);
    let responder = Api::new(&app, app.token(Role::Responder));
    let (status, _) = responder
        .post(
            "/api/v1/incidents/INC-1/tasks",
            json!({"title": "Alert on gateway config drift", "owner": "aaron", "team": "Tracing"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for (group, expected) in [
        ("owner", vec!["aaron", "dana", "omar", "Nobody"]),
        (
            "team",
            vec![
                "observability",
                "ops",
                "payments",
                "platform",
                "Tracing",
                "No team",
            ],
        ),
    ] {
        let (_, page) = manager.get_text(&format!("/tasks?group={group}")).await;
        let heads: Vec<&str> = page
            .split("<tr class=\"group-head\"><th colspan=\"7\" scope=\"rowgroup\">")
            .skip(1)
            .map(|s| s.split('<').next().unwrap())
            .collect();
        assert_eq!(heads, expected, "headings by {group}");
        let summary: Vec<&str> = page
            .split("<td>")
            .skip(1)
            .filter(|s| s.contains("</td><td class=\"mono\">"))
            .map(|s| s.split('<').next().unwrap())
            .collect();
        assert_eq!(summary, expected, "summary by {group}");
    }
}
both_backends!(overdue_filter_csv_and_groups, overdue_filter_csv_and_groups);

/// The CSV streams as it is read (many 64 KiB pieces here, and more rows than one batch
/// both dated and undated, with ties on date and priority), in the board's order, every row
/// once; a filter mistake is a 422 before any row.
async fn a_large_csv_streams_in_the_boards_order(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    seed_tasks(&app, &api).await;
    for i in 0..20 {
        let priority = ["low", "high", "medium"][i % 3];
        let (status, _) = api
            .post(
                "/api/v1/incidents/INC-2/tasks",
                json!({"title": format!("Follow-up {i:03}"), "priority": priority,
                       "due_on": format!("2026-03-1{}", i % 3)}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // 2,300 more straight into the table: half undated, the rest on three dates.
    let date = |d: &str| match app.url {
        hindsight::db::DbUrl::Postgres(_) => format!("'{d}'::date"),
        hindsight::db::DbUrl::Sqlite(_) => format!("'{d}'"),
    };
    let due = format!(
        "CASE n % 4 WHEN 1 THEN {} WHEN 3 THEN {} ELSE NULL END",
        date("2026-03-10"),
        date("2026-03-11")
    );
    diesel::connection::SimpleConnection::batch_execute(
        &mut app.connection(),
        &format!(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 2300) \
             INSERT INTO tasks (incident_id, title, description, kind, priority, due_on, status, \
             created_at, updated_at) SELECT 1, 'Bulk ' || n, 'Check every gateway pool setting.', \
             'prevent', CASE n % 3 WHEN 0 THEN 'high' WHEN 1 THEN 'medium' ELSE 'low' END, \
             {due}, 'open', '2026-03-01 00:00:00', '2026-03-01 00:00:00' FROM seq"
        ),
    )
    .unwrap();
    let manager = app.login_as(Role::Viewer).await;
    let viewer = Api::new(&app, app.token(Role::Viewer));
    for sort in ["due", "priority"] {
        let res = manager.get(&format!("/tasks.csv?sort={sort}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().get("content-length").is_none(), "streamed");
        let body = res.bytes().await.unwrap();
        assert!(body.len() > 2 * 64 * 1024, "{} bytes", body.len());
        let mut reader = csv::Reader::from_reader(&body[..]);
        let ids: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[3].to_string())
            .collect();
        let mut expected = Vec::new();
        for page in 1..=3 {
            let (_, board) = viewer
                .get(&format!(
                    "/api/v1/tasks?sort={sort}&per_page=1000&page={page}"
                ))
                .await;
            expected.extend(
                board["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["id"].to_string()),
            );
        }
        assert_eq!(ids.len(), 2325);
        assert_eq!(ids, expected, "the board's order, sorted by {sort}");
    }
    let res = manager.get("/tasks.csv?status=finished").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("status"));
}
both_backends!(
    a_large_csv_streams_in_the_boards_order,
    a_large_csv_streams_in_the_boards_order
);

async fn inline_changes_work_without_javascript(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    seed_tasks(&app, &api).await;
    let lead = app.login_as(Role::Responder).await;
    let (_, board) = lead.get_text("/tasks?overdue=true").await;
    assert!(board.contains("action=\"/tasks/1/quick\""));
    let res = lead
        .post(
            "/tasks?overdue=true",
            "/tasks/1/quick",
            &[
                ("status", "done"),
                ("version", "1"),
                ("return", "/tasks?overdue=true"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/tasks?overdue=true");
    let res = lead
        .post(
            "/tasks",
            "/tasks/2/quick",
            &[
                ("owner", "dana"),
                ("version", "1"),
                ("return", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/", "no open redirect");
    let (_, overdue) = api.get("/api/v1/tasks?overdue=true").await;
    assert_eq!(overdue["total"], 1);
    assert_eq!(overdue["items"][0]["owner"], "dana");
    // Stale inline change: 409, nothing changes.
    let res = lead
        .post(
            "/tasks",
            "/tasks/2/quick",
            &[
                ("status", "wont_do"),
                ("version", "1"),
                ("return", "/tasks"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let viewer = app.login_as(Role::Viewer).await;
    let res = viewer
        .post(
            "/tasks",
            "/tasks/2/quick",
            &[("status", "done"), ("version", "2")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Dashboard: overdue tasks and my tasks.
    let dana = Browser::new(&app);
    dana.login("dana", PASSWORD).await;
    let (_, dash) = dana.get_text("/").await;
    assert!(dash.contains("Overdue action items <span class=\"count\">1</span>"));
    assert!(dash.contains("My tasks <span class=\"count\">2</span>"));
    // Past a thousand the count stops counting (each one would be read to count it).
    let mut conn = app.connection();
    let fields = hindsight::tasks::service::TaskInput {
        title: "Backfill the audit trail".into(),
        due_on: "2020-01-02".into(),
        ..Default::default()
    }
    .parse(&mut conn)
    .unwrap();
    let many: Vec<_> = (0..1_001).map(|_| (fields.clone(), None)).collect();
    hindsight::tasks::service::insert_many(&mut conn, hindsight::ids::IncidentId(1), &many, None)
        .unwrap();
    drop(conn);
    let (_, dash) = dana.get_text("/").await;
    assert!(
        dash.contains("Overdue action items <span class=\"count\">1,000+</span>"),
        "{dash}"
    );
    assert!(dash.contains("All 1,000+ overdue →"));
}
both_backends!(
    inline_changes_work_without_javascript,
    inline_changes_work_without_javascript
);

async fn queries_made_by(browser: &Browser, app: &TestApp, path: &str) -> u64 {
    let read = || async {
        let text = reqwest::get(app.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("hindsight_db_queries_total "))
            .unwrap()
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    let before = read().await;
    let (status, _) = browser.get_text(path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    read().await - before
}

/// Pages cost the same number of queries with 3 or 30 rows (no N+1).
async fn lists_make_a_fixed_number_of_queries(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let browser = app.login_as(Role::Responder).await;
    let mut costs = Vec::new();
    for round in 0..2 {
        let n = if round == 0 { 3 } else { 30 };
        let key = format!("INC-{}", round + 1);
        api.made(
            "/api/v1/incidents",
            json!({"title": format!("round {round}"), "services": ["a", "b"]}),
        )
        .await;
        for i in 0..n {
            let owner = format!("owner{round}x{i}");
            app.create_user(&owner, Role::Responder);
            api.made(
                &format!("/api/v1/incidents/{key}/tasks"),
                json!({"title": format!("t{i}"), "owner": owner, "due_on": "2020-01-01"}),
            )
            .await;
            api.made(
                &format!("/api/v1/incidents/{key}/timeline"),
                json!({"kind": "note", "body": format!("entry {i}")}),
            )
            .await;
            api.made(
                &format!("/api/v1/incidents/{key}/escalations"),
                json!({"target": format!("team {i}")}),
            )
            .await;
        }
        costs.push((
            queries_made_by(&browser, &app, &format!("/tasks?incident={key}")).await,
            queries_made_by(
                &browser,
                &app,
                &format!("/tasks?incident={key}&group=owner"),
            )
            .await,
            queries_made_by(&browser, &app, &format!("/incidents/{key}")).await,
            queries_made_by(&browser, &app, "/incidents").await,
            queries_made_by(&browser, &app, "/").await,
        ));
    }
    // The dashboard's lists of ten read the undated tasks only when the dated ones do not
    // fill them (3 rows): one query more, whatever the number of rows.
    let (mut few, many) = (costs[0], costs[1]);
    assert_eq!(few.4, many.4 + 1, "dashboard: {costs:?}");
    few.4 = many.4;
    assert_eq!(few, many, "query counts with 3 and 30 rows: {costs:?}");
    // Session, restricted incidents hidden from the reader, count, page, incidents,
    // owners, users and teams (+ a liveness check on PostgreSQL for a connection idle
    // over a second).
    assert!(costs[0].0 <= 11, "board: {} queries", costs[0].0);
}
both_backends!(
    lists_make_a_fixed_number_of_queries,
    lists_make_a_fixed_number_of_queries
);

/// Due order (the default): dated tasks by date, then priority, then age; undated ones
/// last by priority; the same order however it is cut into pages, also across the point
/// where the dated ones run out.
async fn due_order_holds_across_pages(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "Outage"}))
        .await;
    let tasks = [
        ("a", Some("2026-03-03"), "medium"),
        ("b", None, "low"),
        ("c", Some("2026-03-01"), "low"),
        ("d", Some("2026-03-02"), "low"),
        ("e", Some("2026-03-02"), "high"),
        ("f", None, "high"),
        ("g", Some("2026-03-01"), "low"),
    ];
    for (title, due, priority) in tasks {
        let (status, body) = api
            .post(
                "/api/v1/incidents/INC-1/tasks",
                json!({"title": title, "due_on": due, "priority": priority}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let titles = |body: serde_json::Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = api.get("/api/v1/tasks?sort=due&per_page=100").await;
    assert_eq!(titles(all), ["c", "g", "e", "d", "a", "f", "b"]);
    for per_page in [1, 2, 3, 4] {
        let mut seen = Vec::new();
        for page in 1..=(7 / per_page + 1) {
            let (status, body) = api
                .get(&format!(
                    "/api/v1/tasks?sort=due&per_page={per_page}&page={page}"
                ))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["total"], 7, "{body}");
            seen.extend(titles(body));
        }
        assert_eq!(
            seen,
            ["c", "g", "e", "d", "a", "f", "b"],
            "{per_page} a page"
        );
    }
}
both_backends!(due_order_holds_across_pages, due_order_holds_across_pages);

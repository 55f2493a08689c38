//! The postmortem: seed import facts, every sentence kept, lossless round trip, further
//! realistic fixtures, errors, the review workflow, and the pages.

use hindsight::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

const SEED: &str = include_str!("../fixtures/payment-gateway-2023-06-07.txt");
const FAILOVER: &str = include_str!("../fixtures/checkout-failover-2024-03-03.txt");
const SEARCH: &str = include_str!("../fixtures/search-index-2024-05-10.md");

async fn import(api: &Api, text: &str) -> (StatusCode, serde_json::Value) {
    let res = api
        .client
        .post(format!("{}/api/v1/import", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "text/plain; charset=utf-8")
        .body(text.to_string())
        .send()
        .await
        .unwrap();
    json_of(res).await
}

async fn export_response(api: &Api, key: &str, template: &str) -> reqwest::Response {
    api.client
        .get(format!(
            "{}/api/v1/incidents/{key}/postmortem.md?template={template}",
            api.base
        ))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap()
}

async fn export(api: &Api, key: &str, template: &str) -> String {
    let res = export_response(api, key, template).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "text/markdown; charset=utf-8"
    );
    res.text().await.unwrap()
}

/// The seed's prose sentences: section titles, labels, times and the Duration line aside.
fn seed_sentences() -> Vec<String> {
    let labels = [
        "Impact:",
        "Actions Taken:",
        "Misleading Investigation/Debugging Paths:",
        "Escalation:",
        "Resolution:",
        "Root Cause:",
        "Improvements/Fixes:",
        "10:00 AM:",
    ];
    let mut out = Vec::new();
    for line in SEED.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with("Duration:")
            || !line.contains(' ')
            || line.ends_with(':') && line.split(' ').count() <= 6
        {
            continue;
        }
        let mut text = line;
        for label in labels {
            text = text.strip_prefix(label).unwrap_or(text).trim();
        }
        for sentence in text.split_inclusive(". ") {
            out.push(sentence.trim().to_string());
        }
    }
    out
}

/// A document with its front matter's author (a generated API user) as `IMPORTER`.
fn importer_named(doc: &str) -> String {
    let line = doc
        .lines()
        .find(|l| l.starts_with("author: \"api-responder-"))
        .expect("the importer is the author");
    doc.replacen(line, "author: \"IMPORTER\"", 1)
}

async fn seed_import_holds_every_fact(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, created) = import(&api, SEED).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_string();
    let (_, i) = api.get(&format!("/api/v1/incidents/{key}")).await;
    assert_eq!(i["started_at"], "2023-06-07T10:00:00Z");
    assert_eq!(i["resolved_at"], "2023-06-07T14:00:00Z");
    assert_eq!(i["detected_at"], "2023-06-07T10:00:00Z");
    assert_eq!(i["status"], "resolved");
    assert_eq!(i["users_affected_pct"], 25.0);
    assert!(i["impact"]
        .as_str()
        .unwrap()
        .starts_with("The online payment service was down during the outage"));
    assert!(i["impact"]
        .as_str()
        .unwrap()
        .contains("Approximately 25% of users were affected by the outage."));

    let timeline = i["timeline"].as_array().unwrap();
    let kinds: Vec<&str> = timeline
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "detection",
            "action",
            "misleading",
            "escalation",
            "resolution"
        ]
    );
    assert_eq!(timeline[0]["occurred_at"], "2023-06-07T10:00:00Z");
    // "…restored at 2:00 PM": the time the entry's own text gives is its time.
    assert_eq!(timeline[4]["occurred_at"], "2023-06-07T14:00:00Z");
    assert_eq!(timeline[4]["time_known"], true);
    assert_eq!(timeline[0]["time_known"], true);
    assert!(timeline[0]["body"]
        .as_str()
        .unwrap()
        .starts_with("The issue was detected when the monitoring system"));
    assert_eq!(
        timeline[1]["time_known"], false,
        "the seed gives no time for its labelled paragraphs"
    );
    assert!(timeline[3]["body"]
        .as_str()
        .unwrap()
        .contains("the database administration team and the network engineering team"));

    // "Escalation:" names two teams: two escalation records, beside the entry, saying no
    // more than the document does: answer unknown, nobody recorded as escalating.
    let escalations: Vec<(&str, &str, &str)> = i["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["target"].as_str().unwrap(),
                e["state"].as_str().unwrap(),
                e["escalated_at"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        escalations,
        [
            (
                "database administration team",
                "unknown",
                "2023-06-07T10:00:00Z"
            ),
            (
                "network engineering team",
                "unknown",
                "2023-06-07T10:00:00Z"
            ),
        ]
    );
    for e in i["escalations"].as_array().unwrap() {
        assert!(
            e["escalated_by"].is_null() && e["answered_by"].is_null(),
            "the importer is not the escalator: {e}"
        );
    }
    assert!(
        i["acknowledged_at"].is_null(),
        "no time given, none invented"
    );
    assert!(
        i["mitigated_at"].is_null(),
        "never said to be in monitoring"
    );

    let causes = i["root_causes"].as_array().unwrap();
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0]["kind"], "primary");
    assert_eq!(causes[0]["category"], "configuration");
    assert!(causes[0]["description"]
        .as_str()
        .unwrap()
        .contains("an incorrect parameter was introduced during a recent update"));

    let (_, pm) = api
        .get(&format!("/api/v1/incidents/{key}/postmortem"))
        .await;
    assert!(pm["resolution"]
        .as_str()
        .unwrap()
        .starts_with("The misconfiguration was identified and rectified"));
    let improvements = pm["improvements"].as_str().unwrap();
    for measure in [
        "Strengthening Change Management Procedures",
        "Enhanced Monitoring",
        "Test Environment Validation",
    ] {
        assert!(
            improvements.contains(&format!("- {measure}:")),
            "{measure} in {improvements}"
        );
    }
    assert!(pm["conclusion"]
        .as_str()
        .unwrap()
        .starts_with("In conclusion, the outage incident was caused"));
    assert_eq!(pm["review_state"], "draft");
    assert_eq!(
        pm["summary"],
        "The outage occurred from 10:00 AM to 2:00 PM (UTC) on June 7, 2023. The online payment service was down during the outage, resulting in customers experiencing an inability to complete transactions. Approximately 25% of users were affected by the outage.",
        "the Issue Summary's text"
    );

    let tasks = i["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 4);
    let kinds: Vec<&str> = tasks.iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["process", "detect", "prevent", "process"]);

    // The phase bar shows only phases between milestones the document gives: detected at
    // 10:00 and resolved at 14:00 with nothing between is "Respond 4h 0m", not "To resolve".
    let browser = app.login_as(Role::Viewer).await;
    let (_, page) = browser.get_text(&format!("/incidents/{key}")).await;
    assert!(
        page.contains("Respond <span class=\"mono\">4h 0m</span>"),
        "{page}"
    );
    assert!(!page.contains("To resolve <span"));
    // The Durations card lists the same segments, by the same names.
    assert!(
        page.contains("<dt>Respond</dt><dd class=\"mono\">4h 0m</dd>"),
        "{page}"
    );
    assert!(tasks.iter().all(|t| t["status"] == "open"));
    assert_eq!(tasks[3]["title"], "Schedule regular training sessions for the operations team to increase awareness of configuration management best practices.");

    // Every sentence of the original's prose is in the export.
    let doc = export(&api, &key, "default").await;
    let sentences = seed_sentences();
    assert!(sentences.len() >= 20, "{sentences:?}");
    for s in &sentences {
        assert!(doc.contains(s.as_str()), "missing from export: {s}");
    }
    for heading in [
        "# Postmortem: ",
        "## Issue Summary",
        "**Duration:** 2023-06-07 10:00 – 14:00 UTC (4h 0m)",
        "## Timeline",
        "All times UTC.",
        "**10:00 — Detection:** The issue",
        "## Root Cause and Resolution",
        "### Root Cause",
        "### Resolution",
        "## Corrective and Preventative Measures",
        "### Improvements/Fixes",
        "### Tasks",
        "- [ ] Perform a thorough review",
        "## Conclusion",
    ] {
        assert!(doc.contains(heading), "{heading}");
    }
    let order = [
        "## Issue Summary",
        "## Timeline",
        "## Root Cause and Resolution",
        "## Corrective and Preventative Measures",
        "## Conclusion",
    ];
    let at: Vec<usize> = order.iter().map(|h| doc.find(h).unwrap()).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "sections in the seed's order"
    );
    assert!(doc.starts_with("---\nkey: \"INC-1\"\n"));

    // The whole document, exactly (review the fixture when the layout changes); the
    // author is whoever imported it, a user with a generated name here.
    assert_eq!(
        importer_named(&doc),
        include_str!("../fixtures/expected/payment-gateway.md")
    );

    // Deterministic, and export → import → export is the same document but for the key.
    assert_eq!(doc, export(&api, &key, "default").await);
    let (status, again) = import(&api, &doc).await;
    assert_eq!(status, StatusCode::CREATED);
    let key2 = again["key"].as_str().unwrap();
    let doc2 = export(&api, key2, "default").await;
    assert_eq!(
        doc.replacen(&format!("key: \"{key}\""), "", 1),
        doc2.replacen(&format!("key: \"{key2}\""), "", 1)
    );

    // The SRE layout.
    let sre = export(&api, &key, "sre").await;
    let order = [
        "## Summary",
        "## Impact",
        "## Root Causes",
        "## Trigger",
        "## Resolution",
        "## Detection",
        "## Escalations",
        "## Action Items",
        "## Lessons Learned",
        "## Timeline",
        "## Conclusion",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|h| sre.find(h).unwrap_or_else(|| panic!("{h}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]));
    assert!(sre.contains("| Action item | Type | Priority | Owner | Status | Due | Ticket |"));
    assert_eq!(
        importer_named(&sre),
        include_str!("../fixtures/expected/payment-gateway.sre.md")
    );
    // The SRE layout imports whole too (tasks from their hidden regions).
    let (status, again) = import(&api, &sre).await;
    assert_eq!(status, StatusCode::CREATED);
    let key3 = again["key"].as_str().unwrap();
    let sre3 = export(&api, key3, "sre").await;
    assert_eq!(
        sre.replacen(&format!("key: \"{key}\""), "", 1),
        sre3.replacen(&format!("key: \"{key3}\""), "", 1)
    );
    let res = export_response(&api, &key, "nope").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
both_backends!(seed_import_holds_every_fact, seed_import_holds_every_fact);

async fn other_layouts_import(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, failover) = import(&api, FAILOVER).await;
    assert_eq!(status, StatusCode::CREATED, "{failover}");
    assert_eq!(failover["title"], "Checkout database failover loop");
    assert_eq!(failover["severity"], "SEV2");
    assert_eq!(failover["services"], json!(["checkout", "orders-db"]));
    assert_eq!(failover["started_at"], "2024-03-03T22:40:00Z");
    assert_eq!(failover["resolved_at"], "2024-03-04T01:55:00Z");
    assert!(failover["users_affected_pct"].is_null(), "no percent given");
    let (_, full) = api
        .get(&format!(
            "/api/v1/incidents/{}",
            failover["key"].as_str().unwrap()
        ))
        .await;
    let times: Vec<&str> = full["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["occurred_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        times[4], "2024-03-04T00:30:00Z",
        "24-hour times roll over midnight"
    );
    assert_eq!(full["timeline"][0]["kind"], "detection");
    assert_eq!(full["timeline"][3]["kind"], "escalation");
    assert_eq!(full["timeline"][4]["kind"], "mitigation");
    assert_eq!(full["mitigated_at"], "2024-03-04T00:30:00Z");
    let kinds: Vec<&str> = full["root_causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["primary", "contributing", "contributing"]);
    assert_eq!(full["tasks"].as_array().unwrap().len(), 3);
    let doc = export(&api, failover["key"].as_str().unwrap(), "default").await;
    assert!(
        doc.contains("**2024-03-04 00:30 — Mitigation:** Disabled automatic failover"),
        "dates shown when the incident spans days"
    );

    let (status, search) = import(&api, SEARCH).await;
    assert_eq!(status, StatusCode::CREATED, "{search}");
    assert_eq!(search["title"], "Search index corruption");
    assert_eq!(search["users_affected_pct"], 40.0);
    let key = search["key"].as_str().unwrap();
    let (_, pm) = api
        .get(&format!("/api/v1/incidents/{key}/postmortem"))
        .await;
    assert_eq!(
        pm["lessons_went_well"],
        "The synthetic check caught the failure within minutes."
    );
    assert_eq!(
        pm["lessons_went_wrong"],
        "Rebuilding the index took almost two hours."
    );
    let (_, full) = api.get(&format!("/api/v1/incidents/{key}")).await;
    assert_eq!(full["root_causes"][0]["category"], "software");
    assert_eq!(
        full["tasks"][1]["title"],
        "Alert on index size dropping by more than 10% in an hour."
    );
}
both_backends!(other_layouts_import, other_layouts_import);

/// A plain postmortem whose impact line gives `pct` percent of users.
fn pct_doc(pct: &str) -> String {
    format!("Issue Summary:\nDuration: from 10:00 AM to 2:00 PM on June 7, 2023\nImpact: {pct}% of users could not pay.\n")
}

async fn unreadable_documents_are_refused_whole(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let incidents = app.count("incidents");
    for (doc, needle) in [
        ("", "line 1: expected a postmortem"),
        ("just some words\nwith no structure at all\n", "line 1: expected a postmortem section title"),
        ("Issue Summary:\nDuration: sometime in June\n", "line 2: expected a duration"),
        ("Issue Summary:\nDuration: from 10:00 AM to 2:00 PM on June 7, 2023\nTimeline:\n25:99 AM: nope\n", "line 4: expected a 12-hour time"),
        ("Timeline:\n10:00: started\n", "a date for this time"),
        ("---\ntitle: \"x\"\nformat: \"hindsight/1 hs\"\nstarted_at: \"2023\"\n---\n", "line 2: expected an RFC 3339 time"),
        // Shares of users outside 0–100% are refused, not misread.
        (pct_doc(&format!("1{}", "0".repeat(400))).as_str(), "line 3: expected a share of users from 0 to 100%"),
        (pct_doc("-25").as_str(), "found -25%"),
        (pct_doc("999").as_str(), "found 999%"),
    ] {
        let (status, err) = import(&api, doc).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{doc:?}: {err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{doc:?}: {message}");
    }
    let big =
        "Timeline:\n".to_string() + &"x".repeat(hindsight::postmortems::import::MAX_BYTES + 1);
    let (status, _) = import(&api, &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let res = api
        .client
        .post(format!("{}/api/v1/import", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "image/png")
        .body(SEED)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A task owner that does not exist: all or nothing.
    let doc = export_of_seed_with_owner(&app, &api).await;
    let before = (
        app.count("incidents"),
        app.count("timeline_entries"),
        app.count("tasks"),
    );
    let (status, err) = import(
        &api,
        &doc.replace("\"owner\":\"dana\"", "\"owner\":\"ghost\""),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "owner");
    assert_eq!(
        (
            app.count("incidents"),
            app.count("timeline_entries"),
            app.count("tasks")
        ),
        before,
        "nothing stored"
    );
    assert_eq!(app.count("incidents"), incidents + 1);
    let viewer = Api::new(&app, app.token(Role::Viewer));
    assert_eq!(import(&viewer, SEED).await.0, StatusCode::FORBIDDEN);
}
both_backends!(
    unreadable_documents_are_refused_whole,
    unreadable_documents_are_refused_whole
);

async fn export_of_seed_with_owner(app: &TestApp, api: &Api) -> String {
    app.create_user("dana", Role::Responder);
    let (_, created) = import(api, SEED).await;
    let key = created["key"].as_str().unwrap().to_string();
    let (_, full) = api.get(&format!("/api/v1/incidents/{key}")).await;
    let task = full["tasks"][0]["id"].as_i64().unwrap();
    api.changed(
        &format!("/api/v1/tasks/{task}"),
        json!({"version": 1, "owner": "dana", "due_on": "2023-07-01", "status": "done"}),
    )
    .await;
    export(api, &key, "default").await
}

async fn review_workflow(app: TestApp) {
    app.create_user("author", Role::Responder);
    app.create_user("reviewer", Role::Responder);
    app.create_user("reader", Role::Viewer);
    let author = Browser::new(&app);
    author.login("author", PASSWORD).await;
    let api = Api::new(&app, app.token(Role::Responder));
    import(&api, SEED).await;
    let page = "/incidents/INC-1/postmortem";

    // The author writes (preview first: nothing saved), then saves.
    let res = author
        .post(
            page,
            page,
            &[
                ("summary", "A **bad** parameter."),
                ("version", "1"),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("<strong>bad</strong>"));
    let res = author
        .post(
            page,
            page,
            &[
                (
                    "summary",
                    "A bad parameter took payments down for four hours.",
                ),
                ("version", "1"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = author
        .post(
            page,
            page,
            &[("summary", "stale"), ("version", "1"), ("action", "save")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Imported postmortems belong to the importer; the author here asks for review.
    let res = author
        .post(
            page,
            "/incidents/INC-1/postmortem/review",
            &[("action", "request"), ("reviewers", "reviewer")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, pm) = api.get("/api/v1/incidents/INC-1/postmortem").await;
    assert_eq!(pm["review_state"], "in_review");

    // Publishing needs an approval from someone other than the author.
    let res = author
        .post(
            page,
            "/incidents/INC-1/postmortem/review",
            &[("action", "publish")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let importer = Api::new(&app, api.token.clone());
    let (status, body) = importer
        .post(
            "/api/v1/incidents/INC-1/postmortem/review",
            json!({"action": "approve"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the importer is the author here: {body}"
    );
    let reader = Browser::new(&app);
    reader.login("reader", PASSWORD).await;
    let res = reader
        .post(
            page,
            "/incidents/INC-1/postmortem/review",
            &[("action", "approve")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let reviewer = Browser::new(&app);
    reviewer.login("reviewer", PASSWORD).await;
    let res = reviewer
        .post(
            page,
            "/incidents/INC-1/postmortem/review",
            &[("action", "request_changes"), ("comment", "")],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "changes need a comment"
    );
    let res = reviewer
        .post(
            page,
            "/incidents/INC-1/postmortem/review",
            &[("action", "approve"), ("comment", "Clear and complete.")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = author
        .post(
            page,
            "/incidents/INC-1/postmortem/review",
            &[("action", "publish")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, pm) = api.get("/api/v1/incidents/INC-1/postmortem").await;
    assert_eq!(pm["review_state"], "published");
    assert!(pm["published_at"].is_string());
    assert_eq!(pm["reviews"][0]["state"], "approved");

    // Published is read-only until moved back to draft (audited).
    let (status, _) = api
        .send(
            Method::PUT,
            "/api/v1/incidents/INC-1/postmortem",
            json!({"version": pm["version"], "summary": "edit"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, html) = author.get_text(page).await;
    assert!(html.contains("read-only") && !html.contains("name=\"summary\""));
    let (status, pm) = api
        .post(
            "/api/v1/incidents/INC-1/postmortem/review",
            json!({"action": "reopen"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pm["review_state"], "draft");
    let (status, pm) = api
        .send(
            Method::PUT,
            "/api/v1/incidents/INC-1/postmortem",
            json!({"version": pm["version"], "summary": "Edited after reopening."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pm}");
    assert_eq!(pm["summary"], "Edited after reopening.");
    let admin = app.login_as(Role::Admin).await;
    let (_, audit) = admin.get_text("/audit").await;
    for action in [
        "postmortem.request_review",
        "postmortem.approved",
        "postmortem.publish",
        "postmortem.reopen",
        "incident.import",
    ] {
        assert!(audit.contains(action), "{action}");
    }

    // Lists and the download.
    let (_, list) = author.get_text("/postmortems?state=draft").await;
    assert!(list.contains("/incidents/INC-1/postmortem"));
    let res = author.get("/incidents/INC-1/postmortem.md").await;
    assert!(res
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("INC-1-postmortem.md"));
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Edited after reopening."));
}
both_backends!(review_workflow, review_workflow);

async fn import_page_and_reminder(app: TestApp) {
    let browser = app.login_as(Role::Responder).await;
    let (status, html) = browser.get_text("/import").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_token(&html).unwrap();
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.clone())
        .text("text", "")
        .part(
            "file",
            reqwest::multipart::Part::bytes(SEED.as_bytes().to_vec()).file_name("seed.txt"),
        );
    let res = browser.post_multipart("/import", form).await;
    // First a preview: what the document gives and what it leaves out, nothing made.
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_eq!(app.count("incidents"), 0);
    for said in [
        "Check the import",
        "(not in the document: made from its impact)",
        "(not in the document: SEV3 unless you choose)",
        "name=\"started_at\" value=\"2023-06-07 10:00\"",
        "name=\"resolved_at\" value=\"2023-06-07 14:00\"",
        "Started <small class=\"muted\">(read from line 5)</small>",
        "Services <small class=\"muted\">(not in the document)</small>",
        "5 timeline entries (3 without a time) · 1 root cause · 4 tasks · 2 escalations",
        "no time given",
        "The issue was detected when the monitoring system",
        "Create the incident",
    ] {
        assert!(page.contains(said), "{said}: {page}");
    }
    // The uploaded file travels on in the form, to change or to create from.
    assert!(page.contains("restored at 2:00 PM"));
    assert!(!page.contains("imported before"));
    let create = |text: String, duplicate: bool| {
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", csrf.clone())
            .text("text", text)
            .text("title", "")
            .text("severity", "SEV2")
            .text("step", "create");
        if duplicate {
            form.text("duplicate", "on")
        } else {
            form
        }
    };
    let res = browser
        .post_multipart("/import", create(SEED.to_string(), false))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/incidents/INC-1");

    // The same document again (saved on Windows): the preview warns, naming INC-1, and
    // creating needs the box ticked.
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.clone())
        .text("text", SEED.replace('\n', "\r\n"));
    let res = browser.post_multipart("/import", form).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("imported before, as <a href=\"/incidents/INC-1\">INC-1</a>"));
    assert!(page.contains("Import it again anyway"));
    let twice = |duplicate: bool| create(SEED.replace('\n', "\r\n"), duplicate);
    let res = browser.post_multipart("/import", twice(false)).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let page = res.text().await.unwrap();
    assert!(page.contains("imported before, as INC-1") && page.contains("Import it again anyway"));
    assert!(
        page.contains("<option selected>SEV2</option>"),
        "the choice is kept"
    );
    assert_eq!(app.count("incidents"), 1);
    let res = browser.post_multipart("/import", twice(true)).await;
    assert_eq!(
        location(&res),
        "/incidents/INC-2",
        "asked for: a second incident"
    );
    // The API: 409 naming it, unless ?duplicate=true.
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, body) = import(&api, SEED).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "duplicate");
    assert_eq!(body["error"]["existing"], "INC-1");
    let res = api
        .client
        .post(format!("{}/api/v1/import?duplicate=true", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "text/plain")
        .body(SEED)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(app.count("incidents"), 3);
    let (_, dash) = browser.get_text("/").await;
    assert!(
        !dash.contains("Postmortems due"),
        "resolved in 2023 and imported: history, not a postmortem due"
    );
    // One resolved here a week ago without a postmortem is due, and is the most recently
    // resolved, above the 2023 imports made today.
    let week_ago = (chrono::Utc::now() - chrono::Duration::days(7))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (status, _) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Cache stampede", "started_at": week_ago}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-4",
            json!({"version": 1, "status": "resolved", "status_at": week_ago}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, dash) = browser.get_text("/").await;
    assert!(dash.contains("Postmortems due") && dash.contains("Cache stampede"));
    let (_, seed) = api.get("/api/v1/incidents/INC-1").await;
    let seed_title = seed["title"].as_str().unwrap().to_string();
    let recent = dash.split("Recently resolved").nth(1).unwrap_or_default();
    let (stampede, outage) = (
        recent.find("Cache stampede").unwrap(),
        recent.find(seed_title.as_str()).unwrap_or(usize::MAX),
    );
    assert!(stampede < outage, "ordered by resolution, not by import");
    let bad = reqwest::multipart::Form::new()
        .text("csrf_token", csrf)
        .text("text", "nothing to see");
    let res = browser.post_multipart("/import", bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("line 1: expected") && page.contains("nothing to see</textarea>"));
    let forged = reqwest::multipart::Form::new()
        .text("csrf_token", "x")
        .text("text", SEED);
    let res = browser.post_multipart("/import", forged).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("incidents"), 4);
}
both_backends!(import_page_and_reminder, import_page_and_reminder);

/// A long incident's document (over a mebibyte) imports whole, in one request.
async fn imports_documents_larger_than_a_mebibyte(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let mut doc = "Issue Summary:\nDuration: The outage occurred from 10:00 AM to 2:00 PM (UTC) on June 7, 2023.\nTimeline:\n".to_string();
    for i in 0..12_000 {
        doc.push_str(&format!(
            "{}:{:02} AM: step {i}: checked gw-{} and the error budget dashboard, no change in the failure rate yet\n",
            10 + i / 6_000,
            i % 60,
            i % 7
        ));
    }
    assert!(doc.len() > 1024 * 1024);
    let (status, body) = import(&api, &doc).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(app.count("timeline_entries"), 12_000);
}
both_backends!(
    imports_documents_larger_than_a_mebibyte,
    imports_documents_larger_than_a_mebibyte
);

/// A document cannot speak for anyone here: its entry authors stay names (never linked to
/// the local admin of the same name), entries without one stay without, and a document
/// that says it was published and approved comes in as a draft, with what it said kept in
/// the audit log. Round trip of such an import is exact apart from the key.
async fn imported_authors_are_text_and_imports_are_drafts(app: TestApp) {
    app.create_user("boss", Role::Admin);
    let api = Api::new(&app, app.token(Role::Responder));
    let (_, created) = import(&api, SEED).await;
    let key = created["key"].as_str().unwrap().to_string();
    let doc = export(&api, &key, "default").await;
    let forged = doc
        .replacen("\"author\":null,\"kind\":\"detection\"", "\"author\":\"boss\",\"kind\":\"detection\"", 1)
        .replacen("review_state: \"draft\"", "review_state: \"published\"", 1)
        .replacen(
            "reviewers: []",
            "reviewers: [{\"name\": \"boss\", \"decision\": \"approved\", \"at\": \"2023-06-08T09:00:00Z\"}]",
            1,
        )
        .replacen("approver: null", "approver: \"boss\"", 1);
    assert_ne!(forged, doc);
    let (status, body) = import(&api, &forged).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key2 = body["key"].as_str().unwrap().to_string();

    let (_, i) = api.get(&format!("/api/v1/incidents/{key2}")).await;
    let timeline = i["timeline"].as_array().unwrap();
    assert_eq!(timeline[0]["kind"], "detection");
    assert!(timeline[0]["author"].is_null(), "not the local admin");
    assert_eq!(timeline[0]["imported_author"], "boss");
    for e in &timeline[1..] {
        assert!(
            e["author"].is_null() && e["imported_author"].is_null(),
            "{e}"
        );
    }
    let (_, pm) = api
        .get(&format!("/api/v1/incidents/{key2}/postmortem"))
        .await;
    assert_eq!(pm["review_state"], "draft", "nobody approved it here");

    let admin = app.login_as(Role::Admin).await;
    let (_, page) = admin.get_text(&format!("/incidents/{key2}")).await;
    assert!(page.contains("boss (imported)"));
    let (_, audit) = admin.get_text("/audit").await;
    assert!(
        audit.contains("the document said: review state published; author api-responder-"),
        "the document's review kept as text"
    );
    assert!(audit.contains("reviewers boss approved 2023-06-08T09:00:00Z; approved by boss"));

    // Export → import → export of the imported incident: the same document but the key
    // and the review fields (its author is whoever imported it).
    let first = export(&api, &key2, "default").await;
    assert!(first.contains("\"author\":\"boss\""));
    let (_, again) = import(&api, &first).await;
    let key3 = again["key"].as_str().unwrap();
    let second = export(&api, key3, "default").await;
    assert_eq!(
        first.replacen(&format!("key: \"{key2}\""), "", 1),
        second.replacen(&format!("key: \"{key3}\""), "", 1)
    );
}
both_backends!(
    imported_authors_are_text_and_imports_are_drafts,
    imported_authors_are_text_and_imports_are_drafts
);

/// A trigger is recorded as a root cause of kind `trigger` and lands in the SRE layout's
/// Trigger section (and only there), and back as a trigger on import.
async fn triggers_are_recorded_and_exported(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let (_, created) = import(&api, SEED).await;
    let key = created["key"].as_str().unwrap().to_string();
    let (status, body) = api
        .post(
            &format!("/api/v1/incidents/{key}/root-causes"),
            serde_json::json!({"kind": "trigger", "category": "change", "description": "Deploy 2023.06.07-1 changed `gateway.retry_limit`."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sre = export(&api, &key, "sre").await;
    let trigger = &sre[sre.find("## Trigger").unwrap()..sre.find("## Resolution").unwrap()];
    assert!(
        trigger.contains("**Trigger (change):** Deploy 2023.06.07-1"),
        "{trigger}"
    );
    let causes = &sre[sre.find("## Root Causes").unwrap()..sre.find("## Trigger").unwrap()];
    assert!(!causes.contains("Deploy 2023.06.07-1"));
    let (_, again) = import(&api, &sre).await;
    let (_, i) = api
        .get(&format!(
            "/api/v1/incidents/{}",
            again["key"].as_str().unwrap()
        ))
        .await;
    let kinds: Vec<&str> = i["root_causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["primary", "trigger"]);
}
both_backends!(
    triggers_are_recorded_and_exported,
    triggers_are_recorded_and_exported
);

/// Reviewers review what readers will read: in review the sections are rendered (a table,
/// code, a link), the requested reviewer finds it on the dashboard and sees Approve /
/// Request changes above the document, and the author's Publish stays disabled, saying
/// why, until someone else approved.
async fn review_reads_as_a_document(app: TestApp) {
    app.create_user("author", Role::Responder);
    app.create_user("reviewer", Role::Responder);
    let author = Browser::new(&app);
    author.login("author", PASSWORD).await;
    let api = Api::new(&app, app.token(Role::Responder));
    let (_, created) = import(&api, SEED).await;
    let key = created["key"].as_str().unwrap().to_string();
    let page = format!("/incidents/{key}/postmortem");
    let (_, form) = author.get_text(&page).await;
    assert!(
        form.contains("<textarea name=\"summary\""),
        "a draft opens as a form"
    );
    let summary = "| owner | item |\n|---|---|\n| dana | [runbook](https://runbooks.example.com/gw) |\n\n```sh\nkubectl rollout undo deploy/gateway\n```";
    let version = form
        .split("name=\"version\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let res = author
        .post(
            &page,
            &page,
            &[
                ("summary", summary),
                ("version", &version),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, draft) = author.get_text(&page).await;
    assert!(
        draft.contains("Ask for a review first"),
        "Publish says why it is disabled"
    );
    assert!(draft.contains("value=\"publish\" disabled"));
    let review = format!("/incidents/{key}/postmortem/review");
    let res = author
        .post(
            &page,
            &review,
            &[("action", "request"), ("reviewers", "reviewer")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let reviewer = Browser::new(&app);
    reviewer.login("reviewer", PASSWORD).await;
    let (_, dashboard) = reviewer.get_text("/").await;
    assert!(dashboard.contains("Reviews waiting for you"));
    assert!(dashboard.contains(&format!("href=\"{page}\"")));
    let (_, doc) = reviewer.get_text(&page).await;
    assert!(doc.contains("You were asked to review this postmortem"));
    assert!(doc.contains("<table>"), "rendered, not raw Markdown");
    assert!(doc.contains("<a href=\"https://runbooks.example.com/gw\""));
    assert!(doc.contains("<pre><code") && doc.contains("kubectl rollout undo deploy/gateway"));
    assert!(
        !doc.contains("<textarea name=\"summary\""),
        "read, not edited"
    );

    let (_, waiting) = author.get_text(&page).await;
    assert!(waiting.contains("needs an approval from a reviewer other than the author"));
    let res = reviewer
        .post(
            &page,
            &review,
            &[("action", "approve"), ("comment", "Clear.")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, ready) = author.get_text(&page).await;
    assert!(ready.contains("class=\"btn primary\" name=\"action\" value=\"publish\">Publish"));
    let (_, dashboard) = reviewer.get_text("/").await;
    assert!(!dashboard.contains("Reviews waiting for you"), "answered");
}
both_backends!(review_reads_as_a_document, review_reads_as_a_document);

/// The importer sets what a plain document rarely states: the title (its first sentence is
/// often the impact) and the severity (not in the document: SEV3 otherwise).
async fn import_takes_title_and_severity_from_the_importer(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let res = api
        .client
        .post(format!(
            "{}/api/v1/import?title=Payment%20gateway%20outage&severity=SEV1",
            api.base
        ))
        .bearer_auth(&api.token)
        .header("content-type", "text/plain")
        .body(SEED)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, i) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(
        (i["title"].as_str(), i["severity"].as_str()),
        (Some("Payment gateway outage"), Some("SEV1"))
    );
    let browser = app.login_as(Role::Responder).await;
    let (_, html) = browser.get_text("/import").await;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf_token(&html).unwrap())
        .text("text", SEED)
        .text("duplicate", "on")
        .text("title", "Checkout payments down")
        .text("severity", "SEV2")
        .text("step", "create");
    let res = browser.post_multipart("/import", form).await;
    assert_eq!(location(&res), "/incidents/INC-2");
    let (_, i) = api.get("/api/v1/incidents/INC-2").await;
    assert_eq!(
        (i["title"].as_str(), i["severity"].as_str()),
        (Some("Checkout payments down"), Some("SEV2"))
    );
}
both_backends!(
    import_takes_title_and_severity_from_the_importer,
    import_takes_title_and_severity_from_the_importer
);

/// The facts an export carries, keyed for comparing two incidents.
async fn facts(api: &Api, key: &str) -> serde_json::Value {
    let (_, i) = api.get(&format!("/api/v1/incidents/{key}")).await;
    let entries: Vec<_> = i["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!([e["occurred_at"], e["time_known"], e["kind"], e["body"]]))
        .collect();
    let escalations: Vec<_> = i["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!([e["target"], e["state"], e["escalated_at"], e["reason"]]))
        .collect();
    json!({
        "milestones": [i["started_at"], i["detected_at"], i["acknowledged_at"], i["mitigated_at"], i["resolved_at"]],
        "impact": i["impact"], "entries": entries, "escalations": escalations,
    })
}

async fn exports_in_a_zone_and_imports_back(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    for (fixture, zone, duration) in [
        (
            SEED,
            "Europe/Berlin",
            "**Duration:** 2023-06-07 12:00 – 16:00 CEST (4h 0m)",
        ),
        (FAILOVER, "Asia/Kolkata", "IST"),
        (SEARCH, "America/St_Johns", "**Duration:**"),
    ] {
        let (status, created) = import(&api, fixture).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let key = created["key"].as_str().unwrap().to_string();
        let res = api
            .client
            .get(format!(
                "{}/api/v1/incidents/{key}/postmortem.md?zone={zone}",
                api.base
            ))
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let doc = res.text().await.unwrap();
        assert!(doc.contains(&format!("zone: \"{zone}\"")), "{doc}");
        assert!(doc.contains(duration), "{doc}");
        assert!(doc.contains(&format!("All times {zone}.")), "{doc}");
        // The zoned document imports to the same facts: labels strip in its zone.
        let (status, again) = import(&api, &doc).await;
        assert_eq!(status, StatusCode::CREATED, "{again}");
        let again = again["key"].as_str().unwrap();
        assert_eq!(facts(&api, &key).await, facts(&api, again).await, "{doc}");
    }
    // The seed in Berlin: entry labels are Berlin wall-clock times.
    let zoned = export_response(&api, "INC-1", "default&zone=Europe/Berlin").await;
    let zoned = zoned.text().await.unwrap();
    assert!(zoned.contains("**12:00 — Detection:**"), "{zoned}");
    let res = export_response(&api, "INC-1", "default&zone=Mars/Olympus").await;
    let (status, body) = json_of(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "zone", "{body}");
    // The page's download takes the zone too.
    let browser = app.login_as(Role::Viewer).await;
    let (status, doc) = browser
        .get_text("/incidents/INC-1/postmortem.md?zone=Europe/Berlin")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc.contains("zone: \"Europe/Berlin\""));
    // A reader in a zone is offered the download in it.
    browser.set_time_zone("Europe/Berlin").await;
    let (_, page) = browser.get_text("/incidents/INC-1/postmortem").await;
    assert!(
        page.contains("/incidents/INC-1/postmortem.md?zone=Europe/Berlin\">.md in Europe/Berlin"),
        "{page}"
    );
}
both_backends!(
    exports_in_a_zone_and_imports_back,
    exports_in_a_zone_and_imports_back
);

/// Key moments: an entry starred and marked (API and edit form) shows on the page, is not
/// an edit of its text (no revision, same version), survives export and import, and the
/// postmortem offers the key moments alone.
async fn key_moments_are_kept_through_export_and_import(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made(
        "/api/v1/incidents",
        json!({"title": "Payment gateway outage", "severity": "SEV1", "started_at": "2023-06-07T10:00:00Z"}),
    )
    .await;
    let entry = api
        .made(
            "/api/v1/incidents/INC-1/timeline",
            json!({"occurred_at": "2023-06-07T10:20:00Z", "kind": "investigation", "body": "The timeout parameter changed in release 412.", "starred": true, "marker": "diagnosis"}),
        )
        .await;
    assert_eq!(entry["starred"], true);
    assert_eq!(entry["marker"], "diagnosis");
    let plain = api
        .made(
            "/api/v1/incidents/INC-1/timeline",
            json!({"occurred_at": "2023-06-07T10:30:00Z", "kind": "action", "body": "Reverted the parameter."}),
        )
        .await;
    assert_eq!(plain["starred"], false);
    assert!(plain["marker"].is_null());
    let path = format!("/api/v1/incidents/INC-1/timeline/{}", plain["id"]);
    // A wrong marker says so and changes nothing; a viewer may not star.
    let (status, body) = api.patch(&path, json!({"marker": "fixed"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "marker");
    let viewer = Api::new(&app, app.token(Role::Viewer));
    let (status, _) = viewer.patch(&path, json!({"starred": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Starring is not an edit of the text: same version, no revision, a stale version
    // elsewhere does not block it.
    let starred = api
        .changed(&path, json!({"starred": true, "marker": "repair"}))
        .await;
    assert_eq!(
        (
            starred["starred"].clone(),
            starred["marker"].clone(),
            starred["version"].clone()
        ),
        (json!(true), json!("repair"), plain["version"].clone())
    );
    assert_eq!(app.count("timeline_revisions"), 0);
    let cleared = api.changed(&path, json!({"marker": null})).await;
    assert!(cleared["marker"].is_null());
    assert_eq!(cleared["starred"], true);

    // The page shows them; the edit form sets them.
    let browser = app.login_as(Role::Responder).await;
    let (_, page) = browser.get_text("/incidents/INC-1").await;
    assert!(
        page.contains("<b class=km title=\"Key moment\">★ diagnosis</b>"),
        "{page}"
    );
    let edit = format!("/incidents/INC-1/timeline/{}/edit", plain["id"]);
    browser
        .submitted(
            &edit,
            &edit,
            &[
                ("version", &cleared["version"].to_string()),
                ("occurred_at", "2023-06-07 10:30"),
                ("kind", "action"),
                ("body", "Reverted the parameter."),
                ("marker", "repair"),
            ],
        )
        .await;
    let (_, after) = api.get("/api/v1/incidents/INC-1").await;
    let row = after["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == plain["id"])
        .unwrap()
        .clone();
    assert_eq!(
        (row["starred"].clone(), row["marker"].clone()),
        (json!(false), json!("repair")),
        "an unticked box unstars"
    );
    let (_, pm) = browser.get_text("/incidents/INC-1/postmortem").await;
    assert!(
        pm.contains("Key moments (3)"),
        "two marked entries and the declaration: {pm}"
    );

    // Export says it in words and keeps it for the importer, which restores it.
    let doc = export(&api, "INC-1", "default").await;
    assert!(doc.contains("— Investigation ★ (diagnosis):**"), "{doc}");
    assert!(doc.contains("— Action (repair):**"), "{doc}");
    let (status, created) = import(&api, &doc).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, copy) = api
        .get(&format!(
            "/api/v1/incidents/{}",
            created["key"].as_str().unwrap()
        ))
        .await;
    let moments: Vec<(Value, Value, Value)> = copy["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] != "status_change")
        .map(|e| (e["body"].clone(), e["starred"].clone(), e["marker"].clone()))
        .collect();
    assert_eq!(
        moments,
        [
            (
                json!("The timeout parameter changed in release 412."),
                json!(true),
                json!("diagnosis")
            ),
            (
                json!("Reverted the parameter."),
                json!(false),
                json!("repair")
            ),
        ]
    );
}
both_backends!(
    key_moments_are_kept_through_export_and_import,
    key_moments_are_kept_through_export_and_import
);

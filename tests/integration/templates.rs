//! Bringing your history: postmortems written from the SRE book's template, GitLab's
//! incident review, Atlassian's post-incident review and PagerDuty's template import with
//! their facts; what a document leaves out stays empty; the dry run says what was not
//! understood; several files import at once; export → import → export is exact.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

const SRE: &str = include_str!("../fixtures/templates/sre-book-search-2025-02-11.md");
const GITLAB: &str = include_str!("../fixtures/templates/gitlab-pricing-2025-05-20.md");
const ATLASSIAN: &str = include_str!("../fixtures/templates/atlassian-login-2025-08-03.md");
const PAGERDUTY: &str = include_str!("../fixtures/templates/pagerduty-queue-2025-10-14.md");

async fn import(api: &Api, text: &str, query: &str) -> (StatusCode, Value) {
    let res = api
        .client
        .post(format!("{}/api/v1/import{query}", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "text/markdown")
        .body(text.to_string())
        .send()
        .await
        .unwrap();
    json_of(res).await
}

async fn imported(api: &Api, text: &str) -> Value {
    let (status, created) = import(api, text, "").await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap();
    api.get(&format!("/api/v1/incidents/{key}")).await.1
}

fn strs(v: &Value, field: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_str().unwrap_or("").to_string())
        .collect()
}

/// The milestones, share of users and services as (field, value) pairs.
fn facts(i: &Value) -> Vec<(&'static str, Value)> {
    [
        "started_at",
        "detected_at",
        "mitigated_at",
        "resolved_at",
        "users_affected_pct",
        "services",
        "status",
        "severity",
    ]
    .into_iter()
    .map(|f| (f, i[f].clone()))
    .collect()
}

/// (title, owner, team, due_on, status, external_url, description) of each task, by title.
fn tasks(i: &Value) -> Vec<(String, Value, String, Value, String, String, String)> {
    let mut all: Vec<_> = i["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap().to_string(),
                t["owner"].clone(),
                t["team"].as_str().unwrap().to_string(),
                t["due_on"].clone(),
                t["status"].as_str().unwrap().to_string(),
                t["external_url"].as_str().unwrap().to_string(),
                t["description"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

fn task(
    title: &str,
    owner: Value,
    team: &str,
    due: Value,
    status: &str,
    url: &str,
    description: &str,
) -> (String, Value, String, Value, String, String, String) {
    (
        title.into(),
        owner,
        team.into(),
        due,
        status.into(),
        url.into(),
        description.into(),
    )
}

async fn each_template_imports_with_its_facts(app: TestApp) {
    app.create_user("dana", Role::Responder);
    let api = Api::new(&app, app.token(Role::Responder));
    let at = |d: &str, t: &str| json!(format!("{d}T{t}:00Z"));

    // The SRE book: bold header fields, an action-item table, a date line over the times,
    // OUTAGE BEGINS / ENDS.
    let i = imported(&api, SRE).await;
    let d = "2025-02-11";
    assert_eq!(
        facts(&i),
        [
            ("started_at", at(d, "14:02")),
            ("detected_at", at(d, "14:06")),
            ("mitigated_at", at(d, "14:38")),
            ("resolved_at", at(d, "14:54")),
            ("users_affected_pct", json!(38.0)),
            ("services", json!([])),
            ("status", json!("resolved")),
            ("severity", json!("SEV3")),
        ]
    );
    assert_eq!(i["title"], "Search results empty for logged-in users");
    assert_eq!(
        strs(&i["timeline"], "kind"),
        [
            "action",
            "detection",
            "misleading",
            "action",
            "mitigation",
            "resolution"
        ]
    );
    assert_eq!(strs(&i["root_causes"], "kind"), ["primary", "trigger"]);
    assert_eq!(
        tasks(&i),
        [
            task(
                "Alert on a zero-result rate above 5% for five minutes",
                json!(null),
                "tomasz",
                json!(null),
                "open",
                "",
                "Ticket: SRCH-102"
            ),
            task(
                "Count documents, not shards, before swapping the alias",
                json!(null),
                "rhea",
                json!(null),
                "open",
                "",
                "Ticket: SRCH-101"
            ),
            task(
                "Document the manual alias rollback",
                json!(null),
                "ops-team",
                json!(null),
                "open",
                "",
                "Ticket: SRCH-103"
            ),
        ]
    );
    let mut kinds: Vec<(String, String)> = strs(&i["tasks"], "title")
        .into_iter()
        .zip(strs(&i["tasks"], "kind"))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds.iter().map(|k| k.1.as_str()).collect::<Vec<_>>(),
        ["detect", "prevent", "mitigate"]
    );
    let (_, pm) = api
        .get(&format!(
            "/api/v1/incidents/{}/postmortem",
            i["key"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        pm["lessons_lucky"],
        "- A copy of the previous index still existed."
    );
    assert!(pm["resolution"]
        .as_str()
        .unwrap()
        .starts_with("The alias was pointed back"));

    // GitLab: numbered facts, question/answer tables, dated bullets, five whys, checkboxes
    // with owners and due dates.
    let i = imported(&api, GITLAB).await;
    let d = "2025-05-20";
    assert_eq!(
        facts(&i),
        [
            ("started_at", at(d, "14:00")),
            ("detected_at", at(d, "14:04")),
            ("mitigated_at", at(d, "14:38")),
            ("resolved_at", at(d, "14:50")),
            ("users_affected_pct", json!(70.0)),
            ("services", json!(["pricing-api", "storefront"])),
            ("status", json!("resolved")),
            ("severity", json!("SEV3")),
        ]
    );
    assert!(i["impact"]
        .as_str()
        .unwrap()
        .starts_with("Product pages showed last week's prices"));
    assert_eq!(
        strs(&i["timeline"], "kind"),
        [
            "action",
            "detection",
            "misleading",
            "escalation",
            "mitigation",
            "resolution"
        ]
    );
    assert_eq!(strs(&i["escalations"], "target"), ["Commerce team"]);
    assert_eq!(strs(&i["root_causes"], "kind"), ["primary"]);
    assert!(i["root_causes"][0]["description"]
        .as_str()
        .unwrap()
        .contains("Replication lag during the deploy"));
    assert_eq!(
        tasks(&i),
        [
            task(
                "Add catalogue version to the price-drift alert",
                json!(null),
                "omar",
                json!("2025-05-30"),
                "done",
                "",
                "Ticket: PRICE-89"
            ),
            task(
                "Make the warm-up wait for the catalogue version",
                json!("dana"),
                "",
                json!("2025-06-15"),
                "open",
                "",
                "Ticket: PRICE-88"
            ),
            task(
                "Run a game day on replica lag during deploys",
                json!("dana"),
                "",
                json!("2025-07-01"),
                "open",
                "",
                ""
            ),
        ]
    );

    // Atlassian: the span in the summary, a timeline table, a corrective-actions table
    // with a ticket link.
    let i = imported(&api, ATLASSIAN).await;
    let d = "2025-08-03";
    assert_eq!(
        facts(&i),
        [
            ("started_at", at(d, "09:10")),
            ("detected_at", at(d, "09:14")),
            ("mitigated_at", at(d, "09:55")),
            ("resolved_at", at(d, "10:02")),
            ("users_affected_pct", json!(12.0)),
            ("services", json!(["identity", "web-app"])),
            ("status", json!("resolved")),
            ("severity", json!("SEV3")),
        ]
    );
    assert_eq!(
        strs(&i["timeline"], "kind"),
        [
            "action",
            "action",
            "detection",
            "misleading",
            "mitigation",
            "resolution"
        ]
    );
    assert_eq!(i["timeline"][0]["occurred_at"], at(d, "09:05"));
    assert_eq!(
        i["root_causes"][0]["description"],
        "The identity service's key cache had no refresh on rotation."
    );
    assert_eq!(
        tasks(&i),
        [
            task(
                "Refresh the key cache when a rotation is announced",
                json!(null),
                "priya",
                json!("2025-09-01"),
                "open",
                "https://tracker.example.com/AUTH-310",
                ""
            ),
            task(
                "Rotate certificates in a staging dry run first",
                json!(null),
                "identity-team",
                json!("2025-08-20"),
                "open",
                "",
                "Ticket: AUTH-311"
            ),
        ]
    );

    // PagerDuty: severity and services as fields, times without a date under a prose date.
    let i = imported(&api, PAGERDUTY).await;
    let d = "2025-10-14";
    assert_eq!(
        facts(&i),
        [
            ("started_at", at(d, "16:20")),
            ("detected_at", at(d, "16:41")),
            ("mitigated_at", at(d, "17:02")),
            ("resolved_at", at(d, "17:25")),
            ("users_affected_pct", json!(25.0)),
            ("services", json!(["notifications", "queue-workers"])),
            ("status", json!("resolved")),
            ("severity", json!("SEV2")),
        ]
    );
    assert_eq!(
        strs(&i["timeline"], "kind"),
        [
            "action",
            "detection",
            "escalation",
            "mitigation",
            "resolution"
        ]
    );
    assert_eq!(
        tasks(&i)
            .iter()
            .map(|t| (t.2.as_str(), t.6.as_str()))
            .collect::<Vec<_>>(),
        [("lena", "Ticket: NOTIF-52"), ("marc", "Ticket: NOTIF-51")]
    );
    // Historical: none of them is waiting for a postmortem.
    let (_, list) = api.get("/api/v1/incidents?status=open").await;
    assert_eq!(list["total"], 0, "{list}");
}
both_backends!(
    each_template_imports_with_its_facts,
    each_template_imports_with_its_facts
);

/// What a document does not say stays empty: nothing is guessed in its place.
async fn missing_facts_stay_empty(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let without = |doc: &str, drop: &[&str]| {
        doc.lines()
            .filter(|l| !drop.iter().any(|d| l.contains(d)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let i = imported(
        &api,
        &without(
            SRE,
            &[
                "**Impact:**",
                "14:06 Synthetic",
                "14:38 Alias",
                "OUTAGE ENDS",
            ],
        ),
    )
    .await;
    assert_eq!(i["impact"], "");
    assert_eq!(i["users_affected_pct"], Value::Null);
    assert_eq!(i["detected_at"], Value::Null);
    assert_eq!(i["mitigated_at"], Value::Null);
    assert_eq!(i["resolved_at"], Value::Null);
    assert_eq!(i["status"], "resolved", "a postmortem is history");
    let i = imported(
        &api,
        &without(
            PAGERDUTY,
            &["**Severity:**", "**Services affected:**", "Roughly 25%"],
        ),
    )
    .await;
    assert_eq!(i["severity"], "SEV3");
    assert_eq!(i["services"], json!([]));
    assert_eq!(i["users_affected_pct"], Value::Null);
    let i = imported(
        &api,
        &GITLAB.replace(" (owner: @dana, due 2025-06-15) PRICE-88", ""),
    )
    .await;
    assert_eq!(
        tasks(&i)[1],
        task(
            "Make the warm-up wait for the catalogue version",
            json!(null),
            "",
            json!(null),
            "open",
            "",
            ""
        )
    );
}
both_backends!(missing_facts_stay_empty, missing_facts_stay_empty);

/// Services may be a list under their label, as well as a comma-separated line.
async fn services_may_be_a_list(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let doc = PAGERDUTY.replace(
        "**Services affected:** notifications, queue-workers",
        "**Services affected:**\n\n- notifications\n- queue-workers\n\nThe queue was the bottleneck.",
    );
    let i = imported(&api, &doc).await;
    assert_eq!(i["services"], json!(["notifications", "queue-workers"]));
    let (_, pm) = api.get("/api/v1/incidents/INC-1/postmortem").await;
    assert!(
        pm["summary"]
            .as_str()
            .unwrap()
            .contains("The queue was the bottleneck."),
        "the text after the list is kept: {pm}"
    );
}
both_backends!(services_may_be_a_list, services_may_be_a_list);

/// Times written in a zone the document names are read in it and stored in UTC.
async fn times_in_a_named_zone_are_read_in_it(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let i = imported(&api, &PAGERDUTY.replace(" UTC", " PDT")).await;
    assert_eq!(i["started_at"], "2025-10-14T23:20:00Z", "16:20 PDT");
    assert_eq!(
        i["resolved_at"], "2025-10-15T00:25:00Z",
        "17:25 PDT, the next day in UTC"
    );
    assert_eq!(i["timeline"][1]["occurred_at"], "2025-10-14T23:41:00Z");
    let i = imported(
        &api,
        &SRE.replace("(all times UTC)", "(all times Europe/Berlin)"),
    )
    .await;
    assert_eq!(i["started_at"], "2025-02-11T13:02:00Z", "14:02 CET");
}
both_backends!(
    times_in_a_named_zone_are_read_in_it,
    times_in_a_named_zone_are_read_in_it
);

/// The dry run: the incident it would be, where each fact was read, the lines no fact was
/// read from; nothing stored.
async fn the_dry_run_says_what_was_read_and_what_was_not(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, run) = import(&api, GITLAB, "?dry_run=true").await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(app.count("incidents"), 0, "nothing stored");
    assert_eq!(run["incident"]["title"], "Stale prices on the storefront");
    assert_eq!(run["incident"]["detected_at"], "2025-05-20T14:04:00Z");
    assert_eq!(run["incident"]["tasks"].as_array().unwrap().len(), 3);
    let line = |needle: &str| GITLAB.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(run["read_from"]["services"], line("Service(s) affected"));
    assert_eq!(
        run["read_from"]["detected_at"],
        line("When was the incident detected")
    );
    assert_eq!(
        run["read_from"]["resolved_at"],
        line("14:50 UTC - Resolved")
    );
    assert_eq!(
        run["read_from"]["users_affected_pct"],
        line("About 70% of visitors")
    );
    assert!(
        run["read_from"]["severity"].is_null(),
        "not in the document"
    );
    let not_understood: Vec<(u64, String)> = run["not_understood"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["line"].as_u64().unwrap(),
                n["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        not_understood,
        [
            (
                line("How was the incident detected") as u64,
                "How was the incident detected? | A price-drift alert compared storefront and checkout prices".to_string()
            ),
            (line("Did alarming work") as u64, "Did alarming work as expected? | Yes".to_string()),
        ]
    );
    // The own export is read whole: no line-by-line account.
    imported(&api, PAGERDUTY).await;
    let doc = api
        .client
        .get(format!("{}/api/v1/incidents/INC-1/postmortem.md", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, run) = import(&api, &doc, "?dry_run=true").await;
    assert_eq!(run["read_from"], Value::Null);
    assert_eq!(run["duplicate_of"], Value::Null);
    let (_, run) = import(&api, PAGERDUTY, "?dry_run=true").await;
    assert_eq!(
        run["duplicate_of"], "INC-1",
        "the same document: said, not refused"
    );
    assert_eq!(app.count("incidents"), 1);
}
both_backends!(
    the_dry_run_says_what_was_read_and_what_was_not,
    the_dry_run_says_what_was_read_and_what_was_not
);

/// Export → import → export of each template's incident is the same document but the key.
async fn every_template_round_trips(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let export = |key: String| {
        let api = &api;
        async move {
            api.client
                .get(format!("{}/api/v1/incidents/{key}/postmortem.md", api.base))
                .bearer_auth(&api.token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    for doc in [SRE, GITLAB, ATLASSIAN, PAGERDUTY] {
        let first = imported(&api, doc).await["key"]
            .as_str()
            .unwrap()
            .to_string();
        let exported = export(first.clone()).await;
        let (status, again) = import(&api, &exported, "").await;
        assert_eq!(status, StatusCode::CREATED, "{again}");
        let second = again["key"].as_str().unwrap().to_string();
        let reexported = export(second.clone()).await;
        assert_eq!(
            exported.replacen(&format!("key: \"{first}\""), "", 1),
            reexported.replacen(&format!("key: \"{second}\""), "", 1)
        );
    }
}
both_backends!(every_template_round_trips, every_template_round_trips);

/// Several files at once on the import page: each its own incident, a report per file,
/// a refused one (with its line) changing nothing, the same document twice caught.
async fn several_files_import_at_once(app: TestApp) {
    let browser = app.login_as(Role::Responder).await;
    let (_, page) = browser.get_text("/import").await;
    let csrf = csrf_token(&page).unwrap();
    let part = |name: &str, text: &str| {
        reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name(name.to_string())
    };
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.clone())
        .part("file", part("sre.md", SRE))
        .part("file", part("notes.md", "Just some notes.\nNothing here."))
        .part("file", part("gitlab.md", GITLAB))
        .part("file", part("sre-again.md", SRE));
    let res = browser.post_multipart("/import", form).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("2 of 4 files imported"), "{page}");
    assert!(
        page.contains("<a href=\"/incidents/INC-1\">INC-1</a>"),
        "{page}"
    );
    assert!(
        page.contains("<a href=\"/incidents/INC-2\">INC-2</a>"),
        "{page}"
    );
    assert!(
        page.contains("line 1: expected a postmortem section title"),
        "{page}"
    );
    assert!(page.contains("imported before"), "{page}");
    assert_eq!(app.count("incidents"), 2);
}
both_backends!(several_files_import_at_once, several_files_import_at_once);

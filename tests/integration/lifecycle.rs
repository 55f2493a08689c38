//! The record through an incident's life (issue 12): status changes at the time they
//! happened, acknowledgements, resolving with escalations pending, reopening, edits that
//! lost a race, the entries edits leave, and text users typed staying plain text.

use chrono::{Duration, NaiveDateTime, SubsecRound, Utc};
use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

fn ago(minutes: i64) -> NaiveDateTime {
    (Utc::now().naive_utc() - Duration::minutes(minutes)).trunc_subsecs(0)
}

fn iso(t: NaiveDateTime) -> String {
    t.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An incident that started two hours ago and was detected 110 minutes ago.
async fn incident_two_hours_old(api: &Api) -> Value {
    let (status, body) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Checkout errors", "severity": "SEV2", "started_at": iso(ago(120)), "detected_at": iso(ago(110))}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn entries<'a>(incident: &'a Value, kind: &str) -> Vec<&'a Value> {
    incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

async fn status_changes_are_backdated_and_milestones_stay_in_order(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    incident_two_hours_old(&api).await;

    // Identified 90 minutes ago, said now: the entry and the milestone get that time.
    let identified = iso(ago(90));
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 1, "status": "identified", "status_at": identified}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["acknowledged_at"], identified.as_str());
    let (_, full) = api.get("/api/v1/incidents/INC-1").await;
    let changes = entries(&full, "status_change");
    let entry = changes
        .iter()
        .find(|e| e["body"] == "Status changed from investigating to identified.")
        .unwrap();
    assert_eq!(entry["occurred_at"], identified.as_str());

    // Monitoring "before" the acknowledgement, before the start, in the future, or a time
    // without a status change: each a 422 naming status_at, nothing changed.
    for (change, why) in [
        (
            json!({"version": 2, "status": "monitoring", "status_at": iso(ago(100))}),
            "before acknowledged",
        ),
        (
            json!({"version": 2, "status": "monitoring", "status_at": iso(ago(200))}),
            "before the start",
        ),
        (
            json!({"version": 2, "status": "monitoring", "status_at": iso(ago(-60))}),
            "in the future",
        ),
        (
            json!({"version": 2, "status_at": iso(ago(10))}),
            "no status change",
        ),
    ] {
        let (status, body) = api.patch("/api/v1/incidents/INC-1", change).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {body}");
        assert_eq!(body["error"]["field"], "status_at", "{why}");
    }
    let (_, same) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(same["version"], 2);
    assert_eq!(same["status"], "identified");
    assert!(same["mitigated_at"].is_null());

    // The page: "HH:MM" 30 minutes ago sets the mitigated time to that minute.
    let browser = app.login_as(Role::Responder).await;
    let thirty = ago(30);
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/status",
            &[
                ("status", "monitoring"),
                ("version", "2"),
                ("status_at", &thirty.format("%H:%M").to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, now) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(
        now["mitigated_at"],
        iso(thirty.with_second_zero()).as_str(),
        "the minute typed"
    );
    // A page error keeps the page: an unreadable time is a 422 naming the field.
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/status",
            &[
                ("status", "resolved"),
                ("version", "3"),
                ("status_at", "half past"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("HH:MM"));
}
both_backends!(
    status_changes_are_backdated_and_milestones_stay_in_order,
    status_changes_are_backdated_and_milestones_stay_in_order
);

trait SecondZero {
    fn with_second_zero(self) -> Self;
}

impl SecondZero for NaiveDateTime {
    fn with_second_zero(self) -> Self {
        use chrono::Timelike;
        self.with_second(0).unwrap()
    }
}

async fn acknowledgements_are_entries_and_fill_the_milestone(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    incident_two_hours_old(&api).await;
    let (status, body) = api
        .post(
            "/api/v1/incidents/INC-1/escalations",
            json!({"targets": ["DBA team", "network engineering"], "escalated_at": iso(ago(100))}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let dba = body["items"][0]["id"].as_i64().unwrap();
    let network = body["items"][1]["id"].as_i64().unwrap();

    // Acknowledged from the page, backdated to 95 minutes ago.
    let browser = app.login_as(Role::Responder).await;
    let answered = ago(95).with_second_zero();
    let res = browser
        .post(
            "/incidents/INC-1",
            &format!("/escalations/{dba}/state"),
            &[
                ("state", "acknowledged"),
                ("version", "1"),
                (
                    "acknowledged_at",
                    &answered.format("%Y-%m-%d %H:%M").to_string(),
                ),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, full) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(
        full["acknowledged_at"],
        iso(answered).as_str(),
        "the first acknowledgement"
    );
    let answers: Vec<(&str, &str)> = entries(&full, "escalation")
        .iter()
        .map(|e| {
            (
                e["body"].as_str().unwrap(),
                e["occurred_at"].as_str().unwrap(),
            )
        })
        .collect();
    // DBA team is not a team of this hindsight: whoever heard back records the answer.
    let recorded = format!(
        "DBA team acknowledged the escalation (recorded by {}).",
        browser.username
    );
    assert!(
        answers.contains(&(recorded.as_str(), iso(answered).as_str())),
        "{answers:?}"
    );

    // A later acknowledgement leaves the incident's time alone; a decline is an entry too.
    let (status, _) = api
        .patch(
            &format!("/api/v1/escalations/{network}"),
            json!({"state": "declined", "acknowledged_at": iso(ago(80))}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, full) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(full["acknowledged_at"], iso(answered).as_str());
    assert!(entries(&full, "escalation").iter().any(|e| e["body"]
        .as_str()
        .unwrap()
        .starts_with("network engineering declined the escalation (recorded by ")));

    // An answer before the escalation is refused on the page with the message.
    let (_, more) = api
        .post(
            "/api/v1/incidents/INC-1/escalations",
            json!({"target": "SRE lead", "escalated_at": iso(ago(60))}),
        )
        .await;
    let lead = more["id"].as_i64().unwrap();
    let res = browser
        .post(
            "/incidents/INC-1",
            &format!("/escalations/{lead}/state"),
            &[
                ("state", "acknowledged"),
                (
                    "acknowledged_at",
                    &ago(70).format("%Y-%m-%d %H:%M").to_string(),
                ),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("cannot come before the escalation"));
}
both_backends!(
    acknowledgements_are_entries_and_fill_the_milestone,
    acknowledgements_are_entries_and_fill_the_milestone
);

async fn resolving_with_pending_escalations(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    incident_two_hours_old(&api).await;
    api.made(
        "/api/v1/incidents/INC-1/escalations",
        json!({"targets": ["DBA team", "network engineering"]}),
    )
    .await;
    // Refused, naming them; nothing changed.
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 1, "status": "resolved"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("DBA team, network engineering"),
        "{message}"
    );
    let (_, full) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(full["status"], "investigating");
    assert!(full["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["state"] == "pending"));

    // The page lists them beside the status control and cancels them when asked.
    let browser = app.login_as(Role::Responder).await;
    let (_, page) = browser.get_text("/incidents/INC-1").await;
    assert!(page.contains("cancel the pending escalations to DBA team, network engineering"));
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/status",
            &[("status", "resolved"), ("version", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("still has pending escalations"));
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/status",
            &[
                ("status", "resolved"),
                ("version", "1"),
                ("cancel_pending_escalations", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, full) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(full["status"], "resolved");
    let resolved_at = full["resolved_at"].as_str().unwrap();
    for e in full["escalations"].as_array().unwrap() {
        assert_eq!(e["state"], "cancelled");
        assert_eq!(
            e["responded_at"], resolved_at,
            "cancelled as of the resolution"
        );
    }
    assert!(entries(&full, "escalation")
        .iter()
        .any(|e| e["body"] == "Escalation to DBA team cancelled."));

    // The API's flag does the same.
    api.made("/api/v1/incidents", json!({"title": "Second"}))
        .await;
    api.made(
        "/api/v1/incidents/INC-2/escalations",
        json!({"target": "CTO"}),
    )
    .await;
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-2",
            json!({"version": 1, "status": "resolved", "cancel_pending_escalations": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
both_backends!(
    resolving_with_pending_escalations,
    resolving_with_pending_escalations
);

async fn reopening_clears_the_resolution_and_flags_the_postmortem(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    incident_two_hours_old(&api).await;
    let resolved = iso(ago(60));
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 1, "status": "resolved", "status_at": resolved}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mitigated_at"], resolved.as_str());

    // Publish its postmortem (reviewed and approved by someone else), then reopen.
    let (status, body) = api
        .send(
            reqwest::Method::PUT,
            "/api/v1/incidents/INC-1/postmortem",
            json!({"version": 0, "summary": "Checkout failed for an hour."}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    app.create_user("rev", Role::Responder);
    let review = "/api/v1/incidents/INC-1/postmortem/review";
    let (status, body) = api
        .post(review, json!({"action": "request", "reviewers": ["rev"]}))
        .await;
    assert!(status.is_success(), "{body}");
    let reviewer = Browser::new(&app);
    reviewer.login("rev", PASSWORD).await;
    let res = reviewer
        .post(
            "/incidents/INC-1/postmortem",
            "/incidents/INC-1/postmortem/review",
            &[("action", "approve")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, body) = api.post(review, json!({"action": "publish"})).await;
    assert_eq!(body["review_state"], "published", "{status} {body}");

    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 2, "status": "investigating"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["resolved_at"].is_null(), "{body}");
    assert!(body["mitigated_at"].is_null());
    let (_, full) = api.get("/api/v1/incidents/INC-1").await;
    let reopened = entries(&full, "reopened");
    assert_eq!(reopened.len(), 1);
    let text = reopened[0]["body"].as_str().unwrap();
    assert!(
        text.starts_with("Reopened: status changed from resolved to investigating")
            && text.contains(&format!("resolved at {resolved}")),
        "{text}"
    );

    // The published postmortem says so, and the list flags it.
    let browser = app.login_as(Role::Viewer).await;
    let (_, page) = browser.get_text("/incidents/INC-1/postmortem").await;
    assert!(page.contains("after this postmortem was published"));
    let (_, list) = browser.get_text("/postmortems").await;
    assert!(list.contains("reopened since"));

    // Resolving again sets a new time.
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 3, "status": "resolved"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(body["resolved_at"], resolved.as_str());
    assert!(!body["resolved_at"].is_null());
}
both_backends!(
    reopening_clears_the_resolution_and_flags_the_postmortem,
    reopening_clears_the_resolution_and_flags_the_postmortem
);

async fn api_conflicts_name_the_fields_both_changed(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    incident_two_hours_old(&api).await;
    let (status, _) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 1, "severity": "SEV1", "impact": "EU"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Both changed severity; only the stale request changed the title.
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 1, "severity": "SEV3", "title": "Checkout errors in EU"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(body["error"]["conflicts"], json!(["severity"]));
    assert_eq!(body["error"]["current_version"], 2);
    // Nothing clashes: still a 409 (the client re-sends at the current version), empty list.
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 1, "title": "Checkout errors in EU"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["conflicts"], json!([]));
    // A version it never had: said so, no invented conflicts.
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 9, "title": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["conflicts"], json!([]));
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("never existed"));
    let (_, same) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(same["title"], "Checkout errors");
    assert_eq!(same["severity"], "SEV1");
}
both_backends!(
    api_conflicts_name_the_fields_both_changed,
    api_conflicts_name_the_fields_both_changed
);

async fn edits_leave_one_change_entry_in_plain_text(app: TestApp) {
    app.create_user("mara", Role::Responder);
    let browser = app.login_as(Role::Responder).await;
    let res = browser
        .post(
            "/incidents/new",
            "/incidents",
            &[
                ("title", "Checkout <b>fails</b> for *all*"),
                ("severity", "SEV2"),
                ("services", "checkout"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 1, "title": "Checkout [down](javascript:alert(1))", "severity": "SEV1", "commander": "mara", "services": ["payments"], "impact": "not listed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, full) = api.get("/api/v1/incidents/INC-1").await;
    let changes = entries(&full, "change");
    assert_eq!(changes.len(), 1, "one entry per save");
    let text = changes[0]["body"].as_str().unwrap();
    assert!(text.contains("severity SEV2 → SEV1"), "{text}");
    assert!(text.contains("commander nobody → mara"), "{text}");
    assert!(
        text.contains("services added: payments; services removed: checkout"),
        "{text}"
    );
    assert!(
        !text.contains("impact"),
        "impact is not a steering field: {text}"
    );
    // Escalation targets and reasons are plain text in their entry as well.
    api.made(
        "/api/v1/incidents/INC-1/escalations",
        json!({"target": "**boss**", "reason": "<i>now</i>"}),
    )
    .await;

    let (_, page) = browser.get_text("/incidents/INC-1").await;
    assert!(
        !page.contains("<b>fails</b>"),
        "the title is not markup in the declared entry"
    );
    assert!(page.contains("Checkout &lt;b&gt;fails&lt;/b&gt; for *all*"));
    assert!(!page.contains("<em>all</em>"));
    assert!(
        !page.contains("href=\"javascript"),
        "no link made of a title"
    );
    assert!(!page.contains("<strong>boss</strong>"));
    assert!(!page.contains("<i>now</i>"));
    // A save that changes none of those fields leaves no change entry.
    let (status, _) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 2, "impact": "still not listed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, full) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(entries(&full, "change").len(), 1);
}
both_backends!(
    edits_leave_one_change_entry_in_plain_text,
    edits_leave_one_change_entry_in_plain_text
);

async fn over_long_fields_are_refused_naming_the_limit(app: TestApp) {
    let browser = app.login_as(Role::Responder).await;
    let (_, form) = browser.get_text("/incidents/new").await;
    assert!(
        form.contains("maxlength=\"200\""),
        "the title input says its limit"
    );
    assert!(form.contains("maxlength=\"20000\""), "so does impact");
    let long = "t".repeat(500);
    let res = browser
        .post(
            "/incidents/new",
            "/incidents",
            &[("title", &long), ("severity", "SEV2")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("Title must be at most 200 characters."));
    assert!(page.contains(&long), "the whole input is kept, not cut");
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, body) = api.post("/api/v1/incidents", json!({"title": long})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "title");
    assert!(body["error"]["message"].as_str().unwrap().contains("200"));
    incident_two_hours_old(&api).await;
    let (status, body) = api
        .post(
            "/api/v1/incidents/INC-1/escalations",
            json!({"target": "DBA", "reason": "r".repeat(5001)}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "reason");
    assert!(body["error"]["message"].as_str().unwrap().contains("5000"));
    assert_eq!(app.count("incidents"), 1);
    assert_eq!(app.count("escalations"), 0);
}
both_backends!(
    over_long_fields_are_refused_naming_the_limit,
    over_long_fields_are_refused_naming_the_limit
);

/// `HH:MM` is the most recent such time, up to 15 minutes ahead: ten minutes ahead is
/// today (typed ahead), twenty is yesterday, and the page then says which date it used.
async fn typed_clock_times_allow_a_little_ahead(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made(
        "/api/v1/incidents",
        json!({"title": "Clock drift", "started_at": iso(ago(3 * 24 * 60))}),
    )
    .await;
    let browser = app.login_as(Role::Responder).await;
    let ahead = |minutes: i64| ago(-minutes).with_second_zero();
    // What is typed and what it means are taken from one reading of the clock (a minute
    // turning between two readings made this test flaky).
    let (ten, twenty) = (ahead(10), ahead(20));
    for (typed, expected, body) in [
        (ten, ten, "typed ten minutes ahead"),
        (
            twenty,
            twenty - Duration::days(1),
            "typed twenty minutes ahead",
        ),
    ] {
        let res = browser
            .post(
                "/incidents/INC-1",
                "/incidents/INC-1/timeline",
                &[
                    ("occurred_at", &typed.format("%H:%M").to_string()),
                    ("kind", "note"),
                    ("body", body),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{body}");
        let to = location(&res);
        let today = Utc::now().naive_utc().date();
        assert_eq!(
            to.contains("?recorded="),
            expected.date() != today,
            "the page notes a date other than today: {to}"
        );
        let (_, full) = api.get("/api/v1/incidents/INC-1").await;
        let entry = full["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["body"] == body)
            .unwrap();
        assert_eq!(entry["occurred_at"], iso(expected).as_str(), "{body}");
    }
    // A full date in the future is refused, naming the field.
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/timeline",
            &[
                (
                    "occurred_at",
                    &ahead(60 * 24).format("%Y-%m-%d %H:%M").to_string(),
                ),
                ("body", "tomorrow"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("is in the future"));
}
both_backends!(
    typed_clock_times_allow_a_little_ahead,
    typed_clock_times_allow_a_little_ahead
);

/// A responder in Berlin picks their zone: pages show and read their wall-clock time, while
/// the API and the export stay UTC. An unknown zone is refused.
async fn times_follow_the_readers_time_zone(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made(
        "/api/v1/incidents",
        json!({"title": "Summer outage", "started_at": "2023-06-07T08:00:00Z", "detected_at": "2023-06-07T08:05:00Z"}),
    )
    .await;
    let browser = app.login_as(Role::Responder).await;
    let res = browser
        .post(
            "/settings/time-zone",
            "/settings/time-zone",
            &[("time_zone", "Mars/Olympus")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    browser.set_time_zone("Europe/Berlin").await;

    // 10:30 typed in Berlin in June (CEST, UTC+2) is 08:30 UTC.
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/timeline",
            &[
                ("occurred_at", "2023-06-07 10:30"),
                ("kind", "action"),
                ("body", "Failed over to the standby"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, full) = api.get("/api/v1/incidents/INC-1").await;
    let entry = full["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["body"] == "Failed over to the standby")
        .unwrap();
    assert_eq!(
        entry["occurred_at"], "2023-06-07T08:30:00Z",
        "the API stays UTC"
    );

    let (_, page) = browser.get_text("/incidents/INC-1").await;
    assert!(page.contains("2023-06-07 10:00"), "started, in Berlin time");
    assert!(
        page.contains("<time datetime=2023-06-07>Wed 2023-06-07</time>")
            && page.contains("<time>10:30</time>"),
        "the entry, in Berlin time: {page}"
    );
    let (_, form) = browser.get_text("/incidents/INC-1/edit").await;
    assert!(
        form.contains("value=\"2023-06-07 10:05\""),
        "the edit form reads and shows Berlin time"
    );
    let (_, export) = api.get_text("/api/v1/incidents/INC-1/postmortem.md").await;
    assert!(
        export.contains("\"at\":\"2023-06-07T08:30:00Z\""),
        "exports stay UTC"
    );

    // Saving the edit form untouched changes no time.
    let csrf = csrf_token(&form).unwrap();
    let res = browser
        .post_raw(
            "/incidents/INC-1/edit",
            &[
                ("csrf_token", &csrf),
                ("title", "Summer outage"),
                ("severity", "SEV3"),
                ("status", "investigating"),
                ("started_at", "2023-06-07 10:00"),
                ("detected_at", "2023-06-07 10:05"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, after) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(after["started_at"], "2023-06-07T08:00:00Z");
    assert_eq!(after["detected_at"], "2023-06-07T08:05:00Z");
}
both_backends!(
    times_follow_the_readers_time_zone,
    times_follow_the_readers_time_zone
);

/// Milestones move only by an explicit edit that leaves an entry, and answers carry who
/// answered: omar (not the target) cannot acknowledge mara's escalation; mara does, at
/// 10 minutes ago, which becomes the incident's acknowledged time; dana's later "identified"
/// does not move it; dana, the commander, answers a team's escalation on its behalf and the
/// record says so; moving the acknowledged time by hand leaves a change entry naming both.
async fn milestones_and_answers_are_facts_with_authors(app: TestApp) {
    for (name, role) in [
        ("dana", Role::Responder),
        ("mara", Role::Responder),
        ("omar", Role::Responder),
    ] {
        app.create_user(name, role);
    }
    // Times fixed once, so that comparisons do not straddle a second.
    let (t30, t20, t12, t10, t5) = (ago(30), ago(20), ago(12), ago(10), ago(5));
    let dana = Api::new(&app, app.token_of("dana"));
    let mara = Api::new(&app, app.token_of("mara"));
    let omar = Api::new(&app, app.token_of("omar"));
    Api::new(&app, app.token(Role::Admin))
        .made("/api/v1/teams", json!({"name": "ops", "members": ["omar"]}))
        .await;
    let (status, _) = dana
        .post(
            "/api/v1/incidents",
            json!({"title": "Checkout errors", "commander": "dana", "started_at": iso(t30)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, esc) = dana
        .post(
            "/api/v1/incidents/INC-1/escalations",
            json!({"target": "mara", "escalated_at": iso(t20)}),
        )
        .await;
    let to_mara = format!("/api/v1/escalations/{}", esc["id"]);
    let answer = json!({"state": "acknowledged", "acknowledged_at": iso(t10)});
    let (status, body) = omar.patch(&to_mara, answer.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = mara.patch(&to_mara, answer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["answered_by"], "mara");
    let (_, inc) = dana.get("/api/v1/incidents/INC-1").await;
    assert_eq!(inc["acknowledged_at"], iso(t10).as_str());

    // A status change with its own time does not move the acknowledgement.
    let (status, body) = dana
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": inc["version"], "status": "identified", "status_at": iso(t5)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["acknowledged_at"], inc["acknowledged_at"]);

    // The commander answers for a team; the record says so.
    let (_, esc) = dana
        .post(
            "/api/v1/incidents/INC-1/escalations",
            json!({"target": "ops"}),
        )
        .await;
    let (status, body) = dana
        .patch(
            &format!("/api/v1/escalations/{}", esc["id"]),
            json!({"state": "declined"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["answered_by"], "dana");
    let (_, timeline) = dana.get("/api/v1/incidents/INC-1/timeline").await;
    let bodies: Vec<String> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["body"].as_str().unwrap().to_string())
        .collect();
    assert!(
        bodies.contains(&"mara acknowledged the escalation.".to_string()),
        "{bodies:?}"
    );
    assert!(
        bodies.contains(&"dana declined the escalation for ops.".to_string()),
        "{bodies:?}"
    );

    // Moving the milestone is an edit that says so.
    let (_, inc) = dana.get("/api/v1/incidents/INC-1").await;
    let (status, body) = dana
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": inc["version"], "acknowledged_at": iso(t12)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, timeline) = dana.get("/api/v1/incidents/INC-1/timeline").await;
    let moved = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["body"].as_str())
        .find(|b| b.contains("acknowledged ") && b.contains(" → "))
        .map(str::to_string);
    let fmt = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M UTC").to_string();
    assert_eq!(
        moved,
        Some(format!("Changed acknowledged {} → {}.", fmt(t10), fmt(t12)))
    );
}
both_backends!(
    milestones_and_answers_are_facts_with_authors,
    milestones_and_answers_are_facts_with_authors
);

/// One time policy for every written time: nothing in the future beyond clock drift (the
/// declare form too), a written time before the incident's start only when meant, ordering
/// errors in words, generated kinds never by hand, and zone abbreviations per instant.
async fn one_time_policy_for_written_times(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, body) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Tomorrow's outage", "started_at": iso(ago(-120))}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "started_at");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("in the future"));
    assert_eq!(app.count("incidents"), 0);

    let start = ago(60);
    api.made(
        "/api/v1/incidents",
        json!({"title": "Checkout errors", "started_at": iso(start)}),
    )
    .await;
    // 21 hours before the start: a typo unless said otherwise.
    let early = iso(start - Duration::hours(21));
    let entry = |before_start: bool| json!({"kind": "action", "body": "Deployed the config", "occurred_at": early, "before_start": before_start});
    let (status, body) = api
        .post("/api/v1/incidents/INC-1/timeline", entry(false))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "occurred_at");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("21h") && message.contains("before this incident started"),
        "{message}"
    );
    let (status, body) = api
        .post("/api/v1/incidents/INC-1/timeline", entry(true))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let written = body["id"].as_i64().unwrap();

    // Generated kinds are the record's own.
    let (status, body) = api
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"kind": "status_change", "body": "Status resolved."}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "kind");
    let (status, body) = api
        .patch(
            &format!("/api/v1/incidents/INC-1/timeline/{written}"),
            json!({"kind": "change", "version": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "kind");

    // Ordering errors in words.
    let (_, inc) = api.get("/api/v1/incidents/INC-1").await;
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": inc["version"], "mitigated_at": iso(ago(10)), "resolved_at": iso(ago(20))}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "resolved_at");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Resolved ("));
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("can't be before mitigated"));

    // A June incident read in Berlin says CEST, whatever the month now.
    api.made(
        "/api/v1/incidents",
        json!({"title": "Summer outage", "started_at": "2026-06-07T10:00:00Z"}),
    )
    .await;
    let berlin = app.login_as(Role::Viewer).await;
    berlin.set_time_zone("Europe/Berlin").await;
    let (_, page) = berlin.get_text("/incidents/INC-2").await;
    // A refused status time: said beside the status control, in the reader's zone, with
    // what was typed kept.
    let responder_berlin = app.login_as(Role::Responder).await;
    responder_berlin.set_time_zone("Europe/Berlin").await;
    let (_, inc2) = api.get("/api/v1/incidents/INC-2").await;
    let version = inc2["version"].to_string();
    let res = responder_berlin
        .post(
            "/incidents/INC-2",
            "/incidents/INC-2/status",
            &[
                ("status", "identified"),
                ("status_at", "2026-06-07 11:00"),
                ("version", version.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = res.text().await.unwrap();
    let beside = refused
        .split("id=\"status-error\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no error beside the status control: {refused}"));
    assert!(
        beside.contains(
            "(2026-06-07 11:00 CEST) is before the incident started (2026-06-07 12:00 CEST)"
        ),
        "{beside}"
    );
    assert!(
        refused.contains("value=\"2026-06-07 11:00\""),
        "the typed time is kept"
    );
    assert!(
        page.contains("2026-06-07 12:00") && page.contains(">CEST<"),
        "the header: June is CEST"
    );
}
both_backends!(
    one_time_policy_for_written_times,
    one_time_policy_for_written_times
);

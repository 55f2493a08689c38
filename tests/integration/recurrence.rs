//! Did the fix hold? A failure of the same category on a shared service after every
//! follow-up for it was done shows on both incidents; an open follow-up, a different
//! service, or a follow-up finished only after the new incident started is no recurrence.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

/// Declares an incident on `service` with a root cause of `category`; returns the cause's id.
async fn failure(
    api: &Api,
    key: &str,
    service: &str,
    category: &str,
    started: Option<&str>,
) -> Value {
    let mut body = json!({"title": format!("{category} failure on {service}"), "severity": "SEV2", "services": [service]});
    if let Some(s) = started {
        body["started_at"] = json!(s);
    }
    api.made("/api/v1/incidents", body).await;
    let cause = api
        .made(
            &format!("/api/v1/incidents/{key}/root-causes"),
            json!({"kind": "primary", "category": category, "description": "It broke."}),
        )
        .await;
    cause["id"].clone()
}

/// A follow-up of `key` addressing `cause`; done at once when `done`.
async fn follow_up(api: &Api, key: &str, cause: &Value, done: bool) -> Value {
    let task = api
        .made(
            &format!("/api/v1/incidents/{key}/tasks"),
            json!({"title": "Guard against it", "root_cause_id": cause}),
        )
        .await;
    assert_eq!(task["root_cause_id"], *cause);
    if done {
        finish(api, &task).await;
    }
    task
}

async fn finish(api: &Api, task: &Value) {
    api.changed(
        &format!("/api/v1/tasks/{}", task["id"]),
        json!({"version": task["version"], "status": "done"}),
    )
    .await;
}

async fn recurrences(api: &Api, key: &str) -> Vec<(Value, Value, Value)> {
    let (_, i) = api.get(&format!("/api/v1/incidents/{key}")).await;
    i["recurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["earlier"].clone(), r["later"].clone(), r["tasks"].clone()))
        .collect()
}

async fn recurrence_is_flagged_only_when_the_fix_was_in(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    // INC-1: a software failure on payments, its one follow-up done.
    let c1 = failure(
        &api,
        "INC-1",
        "payments",
        "software",
        Some("2026-10-01T10:00:00Z"),
    )
    .await;
    let t1 = follow_up(&api, "INC-1", &c1, true).await;
    // INC-2: an open follow-up for a configuration failure on payments.
    let c2 = failure(
        &api,
        "INC-2",
        "payments",
        "configuration",
        Some("2026-10-02T10:00:00Z"),
    )
    .await;
    follow_up(&api, "INC-2", &c2, false).await;
    // INC-3: the same software failure on another service.
    failure(
        &api,
        "INC-3",
        "search",
        "software",
        Some("2026-10-03T10:00:00Z"),
    )
    .await;
    // INC-4: capacity on payments; INC-5 the same, and INC-4's fix lands only after.
    let c4 = failure(
        &api,
        "INC-4",
        "payments",
        "capacity",
        Some("2026-10-04T10:00:00Z"),
    )
    .await;
    let t4 = follow_up(&api, "INC-4", &c4, false).await;
    // Now (after INC-1's fix): software and configuration again on payments, capacity too.
    failure(&api, "INC-5", "payments", "capacity", None).await;
    finish(&api, &t4).await;
    failure(&api, "INC-6", "payments", "software", None).await;
    failure(&api, "INC-7", "payments", "configuration", None).await;

    let flagged = (json!("INC-1"), json!("INC-6"), json!([t1["id"]]));
    assert_eq!(
        recurrences(&api, "INC-6").await,
        std::slice::from_ref(&flagged)
    );
    assert_eq!(recurrences(&api, "INC-1").await, [flagged]);
    for key in ["INC-2", "INC-3", "INC-4", "INC-5", "INC-7"] {
        assert_eq!(recurrences(&api, key).await, [], "{key}");
    }
    // Both pages say it, with links.
    let browser = app.login_as(Role::Viewer).await;
    let (_, later) = browser.get_text("/incidents/INC-6").await;
    assert!(later.contains("Recurred after its follow-ups were done:</strong> the same software cause on payments as <a href=\"/incidents/INC-1\">INC-1</a>"), "{later}");
    assert!(later.contains(&format!("href=\"/incidents/INC-1#t{}\"", t1["id"])));
    let (_, earlier) = browser.get_text("/incidents/INC-1").await;
    assert!(
        earlier.contains("Recurred in <a href=\"/incidents/INC-6\">INC-6</a>"),
        "{earlier}"
    );
    // The task says so on its incident and on the board.
    let did_not = "did not prevent <a href=\"/incidents/INC-6\">INC-6</a>";
    assert!(earlier.contains(did_not), "{earlier}");
    let (_, board) = browser.get_text("/tasks?status=done").await;
    assert_eq!(board.matches(did_not).count(), 1, "{board}");
    // Insights count it per service, cause category and owning team.
    let admin = Api::new(&app, app.token(Role::Admin));
    admin
        .made("/api/v1/teams", json!({"name": "Payments on-call"}))
        .await;
    admin
        .changed(
            "/api/v1/services/payments",
            json!({"team": "Payments on-call"}),
        )
        .await;
    let reader = hindsight::access::Reader {
        user_id: hindsight::ids::UserId(1),
        admin: true,
    };
    let since = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let b = hindsight::insights::breakdown::load(&mut app.connection(), since, reader).unwrap();
    let payments = b.services.iter().find(|s| s.service == "payments").unwrap();
    assert_eq!((payments.incidents, payments.recurrences), (6, 1));
    assert_eq!(payments.team.as_deref(), Some("Payments on-call"));
    let search = b.services.iter().find(|s| s.service == "search").unwrap();
    assert_eq!((search.incidents, search.recurrences), (1, 0));
    let software = b
        .categories
        .iter()
        .find(|c| c.category == "software")
        .unwrap();
    assert_eq!((software.incidents, software.recurrences), (3, 1));
    assert_eq!(b.teams, [("Payments on-call".to_string(), 1)]);
    let (_, insights) = browser.get_text("/insights").await;
    assert!(
        insights.contains("<strong>Payments on-call</strong>: 1 recurrence"),
        "{insights}"
    );
    // Once the cause is a different kind, it no longer recurs.
    let (_, causes) = api.get("/api/v1/incidents/INC-6/root-causes").await;
    let c6 = causes["items"][0]["id"].clone();
    api.changed(
        &format!("/api/v1/root-causes/{c6}"),
        json!({"category": "hardware"}),
    )
    .await;
    assert_eq!(recurrences(&api, "INC-1").await, []);
    // A task addresses only its own incident's causes.
    let (status, body) = api
        .post(
            "/api/v1/incidents/INC-6/tasks",
            json!({"title": "x", "root_cause_id": c1}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "root_cause_id");
    assert_eq!(
        app.count_where("tasks", "incident_id = 6"),
        0,
        "nothing was made"
    );
}
both_backends!(
    recurrence_is_flagged_only_when_the_fix_was_in,
    recurrence_is_flagged_only_when_the_fix_was_in
);

//! Stakeholder updates: posted on the page and over the API, each a communication entry;
//! the next one's due time from the promise or the severity's cadence; the reminders (the
//! communications lead, else the commander; once per due time; a SEV1/SEV2 without a
//! commander) on a clock the test moves.

use chrono::{Duration, NaiveDateTime, Timelike};
use hindsight::auth::Role;
use hindsight::incidents::updates::{nudge, Cadence};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

fn time(v: &Value) -> NaiveDateTime {
    hindsight::time::parse_rfc3339(v.as_str().unwrap()).unwrap()
}

async fn updates_are_entries_and_set_the_next_due(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let incident = api
        .made(
            "/api/v1/incidents",
            json!({"title": "Checkout errors", "severity": "SEV2"}),
        )
        .await;
    let next = hindsight::time::now() + Duration::minutes(20);
    let next_text = hindsight::time::rfc3339(next.with_nanosecond(0).unwrap());
    let made = api
        .made(
            "/api/v1/incidents/INC-1/updates",
            json!({"audience": "public", "state": "identified", "impact": "Card payments fail for <b>some</b> customers.", "actions": "Rolling back the gateway config.", "next_update_at": next_text}),
        )
        .await;
    assert_eq!(made["audience"], "public");
    assert_eq!(made["state"], "identified");
    let (_, i) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(i["next_update_due_at"], json!(next_text));
    let entry = i["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "communication")
        .expect("a communication entry");
    assert_eq!(entry["id"], made["entry_id"]);
    let body = entry["body"].as_str().unwrap();
    assert!(body.starts_with("**Public update** · identified"), "{body}");
    assert!(body.contains("**What we are doing:** Rolling back the gateway config."));
    let (_, list) = api.get("/api/v1/incidents/INC-1/updates").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0]["author"]
        .as_str()
        .unwrap()
        .starts_with("api-responder"));
    let _ = incident;
    // Refusals say what and where, and store nothing.
    api.made(
        "/api/v1/incidents",
        json!({"title": "Quiet one", "severity": "SEV3", "restricted": true}),
    )
    .await;
    let past = hindsight::time::rfc3339(hindsight::time::now() - Duration::minutes(5));
    for (key, body, field) in [
        (
            "INC-1",
            json!({"audience": "internal", "impact": ""}),
            "impact",
        ),
        (
            "INC-1",
            json!({"audience": "everyone", "impact": "x"}),
            "audience",
        ),
        (
            "INC-1",
            json!({"audience": "internal", "impact": "x", "next_update_at": past}),
            "next_update_at",
        ),
        (
            "INC-1",
            json!({"audience": "internal", "impact": "x", "state": "fixed"}),
            "state",
        ),
        (
            "INC-2",
            json!({"audience": "public", "impact": "x"}),
            "audience",
        ),
    ] {
        let (status, err) = api
            .post(&format!("/api/v1/incidents/{key}/updates"), body)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    assert_eq!(app.count("incident_updates"), 1);
    // A viewer may read but not post.
    let viewer = Api::new(&app, app.token(Role::Viewer));
    let (status, _) = viewer
        .post(
            "/api/v1/incidents/INC-1/updates",
            json!({"audience": "internal", "impact": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The page: the form posts an internal update (CSRF like every form); a refusal comes
    // back with what was typed.
    let browser = app.login_as(Role::Responder).await;
    browser
        .submitted(
            "/incidents/INC-1",
            "/incidents/INC-1/updates",
            &[
                ("audience", "internal"),
                ("state", "monitoring"),
                ("impact", "Recovering."),
                ("actions", ""),
                ("next_update_at", ""),
            ],
        )
        .await;
    assert_eq!(app.count("incident_updates"), 2);
    // "Next update by 14:30" on the form is the next 14:30 to come.
    let promised = (hindsight::time::now() + Duration::minutes(30))
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap();
    browser
        .submitted(
            "/incidents/INC-1",
            "/incidents/INC-1/updates",
            &[
                ("audience", "internal"),
                ("impact", "Still recovering."),
                ("next_update_at", &promised.format("%H:%M").to_string()),
            ],
        )
        .await;
    let (_, i) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(time(&i["next_update_due_at"]), promised);
    assert_eq!(app.count("incident_updates"), 3);
    let (_, page) = browser.get_text("/incidents/INC-1").await;
    assert!(page.contains("Public update"), "on the timeline");
    assert!(
        !page.contains("<b>some</b>"),
        "the update's text is escaped"
    );
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/updates",
            &[
                ("audience", "internal"),
                ("impact", "Typed with care"),
                ("next_update_at", "25:99"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("is not a time such as 14:30"), "{page}");
    assert!(page.contains(">Typed with care</textarea>"), "kept");
    let res = browser
        .post_raw(
            "/incidents/INC-1/updates",
            &[("audience", "internal"), ("impact", "x")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(app.count("incident_updates"), 3);
}
both_backends!(
    updates_are_entries_and_set_the_next_due,
    updates_are_entries_and_set_the_next_due
);

/// Reminders on a clock the test moves: due from the cadence, the lead told once, the
/// commander when there is no lead, nothing for a SEV3, cleared on resolution, and a SEV1
/// or SEV2 without a commander after five minutes.
async fn reminders_follow_the_cadence(app: TestApp) {
    app.create_user("lena", Role::Responder);
    app.create_user("cmdr", Role::Responder);
    let api = Api::new(&app, app.token(Role::Responder));
    let cadence = Cadence::default();
    api.made(
        "/api/v1/incidents",
        json!({"title": "Login down", "severity": "SEV1", "commander": "cmdr", "communications_lead": "lena"}),
    )
    .await;
    api.made(
        "/api/v1/incidents",
        json!({"title": "Slow search", "severity": "SEV2", "commander": "cmdr"}),
    )
    .await;
    api.made(
        "/api/v1/incidents",
        json!({"title": "Typo on a page", "severity": "SEV3"}),
    )
    .await;
    api.made(
        "/api/v1/incidents",
        json!({"title": "Nobody leads", "severity": "SEV2"}),
    )
    .await;
    let (_, first) = api.get("/api/v1/incidents/INC-1").await;
    let declared = time(&first["created_at"]);
    let count = |kind: &str, user: &str| {
        app.count_where(
            "notifications",
            &format!(
                "kind = '{kind}' AND user_id = (SELECT id FROM users WHERE username = '{user}')"
            ),
        )
    };
    let mut conn = app.connection();
    // Ten minutes in: nothing owed yet, but the due times are set.
    let sent = nudge::round(&mut conn, declared + Duration::minutes(10), &cadence).unwrap();
    assert_eq!(
        sent, 1,
        "only the commander-less SEV2 (declared 5+ minutes before)"
    );
    let (_, i) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(
        time(&i["next_update_due_at"]),
        declared + Duration::minutes(30)
    );
    let (_, sev3) = api.get("/api/v1/incidents/INC-3").await;
    assert_eq!(
        sev3["next_update_due_at"],
        Value::Null,
        "SEV3 has no cadence"
    );
    assert_eq!(count("no_commander", &api_user(&app, Role::Responder)), 1);
    // 31 minutes: INC-1 is owed; its communications lead hears, not its commander.
    let sent = nudge::round(&mut conn, declared + Duration::minutes(31), &cadence).unwrap();
    assert_eq!(sent, 1);
    assert_eq!(count("update_due", "lena"), 1);
    assert_eq!(count("update_due", "cmdr"), 0);
    // Once per due time.
    nudge::round(&mut conn, declared + Duration::minutes(40), &cadence).unwrap();
    assert_eq!(count("update_due", "lena"), 1);
    // 61 minutes: the SEV2s are owed; INC-2's commander hears (no lead), INC-4's declarer.
    nudge::round(&mut conn, declared + Duration::minutes(61), &cadence).unwrap();
    assert_eq!(count("update_due", "cmdr"), 1);
    assert_eq!(
        count("no_commander", &api_user(&app, Role::Responder)),
        1,
        "once"
    );
    drop(conn);
    // An update moves the due time on; a resolution clears it.
    api.made(
        "/api/v1/incidents/INC-1/updates",
        json!({"audience": "internal", "impact": "Half the logins fail."}),
    )
    .await;
    let (_, i) = api.get("/api/v1/incidents/INC-1").await;
    let due = time(&i["next_update_due_at"]);
    assert!(
        due > hindsight::time::now() + Duration::minutes(29),
        "{due}"
    );
    let (_, i2) = api.get("/api/v1/incidents/INC-2").await;
    api.changed(
        "/api/v1/incidents/INC-2",
        json!({"version": i2["version"], "status": "resolved"}),
    )
    .await;
    let mut conn = app.connection();
    nudge::round(&mut conn, hindsight::time::now(), &cadence).unwrap();
    let (_, i2) = api.get("/api/v1/incidents/INC-2").await;
    assert_eq!(i2["next_update_due_at"], Value::Null);
    // The page says it.
    let browser = app.login_as(Role::Responder).await;
    let (_, page) = browser.get_text("/incidents/INC-4").await;
    assert!(page.contains("update due "), "{page}");
}
both_backends!(reminders_follow_the_cadence, reminders_follow_the_cadence);

/// The username behind `app.token(role)`.
fn api_user(app: &TestApp, role: Role) -> String {
    let mut conn = app.connection();
    use diesel::prelude::*;
    hindsight::db::schema::users::table
        .filter(hindsight::db::schema::users::username.like(format!("api-{role}%")))
        .select(hindsight::db::schema::users::username)
        .first::<String>(&mut conn)
        .unwrap()
}

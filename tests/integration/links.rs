//! Links between incidents: made from one, shown on both with a timeline entry each;
//! a duplicate is closed and left out of insights; links to what a reader may not see
//! stay out of sight; mistakes are refused with what and where.

use hindsight::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

async fn incident(api: &Api, title: &str, started: &str) {
    api.made(
        "/api/v1/incidents",
        json!({"title": title, "severity": "SEV2", "started_at": started}),
    )
    .await;
}

/// The `change` entries of an incident's timeline, as text.
async fn changes(api: &Api, key: &str) -> Vec<String> {
    let (_, i) = api.get(&format!("/api/v1/incidents/{key}")).await;
    i["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "change")
        .map(|e| e["body"].as_str().unwrap().to_string())
        .collect()
}

async fn links_show_on_both_and_a_duplicate_is_closed(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    incident(&api, "Checkout errors", "2026-11-02T10:00:00Z").await;
    incident(&api, "Checkout errors again", "2026-11-02T10:05:00Z").await;
    incident(&api, "Acquirer outage", "2026-11-02T09:50:00Z").await;
    api.made(
        "/api/v1/incidents/INC-2/escalations",
        json!({"target": "payments on-call"}),
    )
    .await;
    let caused = api
        .made(
            "/api/v1/incidents/INC-1/links",
            json!({"kind": "caused_by", "other": "inc-3"}),
        )
        .await;
    assert_eq!(caused["other"], "INC-3");
    assert_eq!(caused["direction"], "outgoing");
    let dup = api
        .made(
            "/api/v1/incidents/INC-2/links",
            json!({"kind": "duplicate_of", "other": "INC-1"}),
        )
        .await;
    // Both ends show it, each its way round.
    let (_, one) = api.get("/api/v1/incidents/INC-1").await;
    let mine: Vec<(Value, Value, Value)> = one["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].clone(),
                l["other"].clone(),
                l["direction"].clone(),
            )
        })
        .collect();
    assert_eq!(
        mine,
        [
            (json!("duplicate_of"), json!("INC-2"), json!("incoming")),
            (json!("caused_by"), json!("INC-3"), json!("outgoing")),
        ]
    );
    assert_eq!(
        changes(&api, "INC-3").await,
        ["Linked as the cause of INC-1."]
    );
    assert_eq!(
        changes(&api, "INC-1").await,
        [
            "Linked as caused by INC-3.",
            "Linked as duplicated by INC-2."
        ]
    );
    // The duplicate is closed (its pending escalation cancelled), says so, and insights
    // count the incident once.
    let (_, two) = api.get("/api/v1/incidents/INC-2").await;
    assert_eq!(two["status"], "closed");
    assert_eq!(two["duplicate_of"], "INC-1");
    assert_eq!(two["escalations"][0]["state"], "cancelled");
    let browser = app.login_as(Role::Viewer).await;
    let (_, page) = browser.get_text("/incidents/INC-2").await;
    assert!(
        page.contains("Duplicate of <a href=\"/incidents/INC-1\">INC-1</a>"),
        "{page}"
    );
    let reader = hindsight::access::Reader {
        user_id: hindsight::ids::UserId(1),
        admin: true,
    };
    let november = chrono::NaiveDate::from_ymd_opt(2026, 11, 15).unwrap();
    let (months, _) =
        hindsight::insights::load(&mut app.connection(), 1, november, reader, None).unwrap();
    assert_eq!(
        months[0].total(),
        2,
        "three incidents, one a duplicate: {:?}",
        months[0].counts
    );
    // Mistakes: what and where, nothing changed.
    for (body, field, says) in [
        (
            json!({"kind": "related", "other": "INC-1"}),
            "other",
            "itself",
        ),
        (
            json!({"kind": "related", "other": "INC-99"}),
            "other",
            "no incident INC-99",
        ),
        (
            json!({"kind": "related", "other": "INC-3"}),
            "other",
            "linked already",
        ),
        (
            json!({"kind": "sibling", "other": "INC-2"}),
            "kind",
            "related, caused_by or duplicate_of",
        ),
        (
            json!({"kind": "related", "other": "INC-2"}),
            "other",
            "linked already",
        ),
    ] {
        let (status, answer) = api
            .post("/api/v1/incidents/INC-1/links", body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    {
        let (body, field, says) = (
            json!({"kind": "duplicate_of", "other": "INC-2"}),
            "other",
            "itself a duplicate",
        );
        let (status, answer) = api
            .post("/api/v1/incidents/INC-3/links", body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    // A viewer may not link; unlinking is done from the incident that linked, and leaves
    // the duplicate closed but no longer a duplicate.
    let viewer = Api::new(&app, app.token(Role::Viewer));
    let (status, _) = viewer
        .post(
            "/api/v1/incidents/INC-3/links",
            json!({"kind": "related", "other": "INC-2"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let wrong_end = format!("/api/v1/incidents/INC-1/links/{}", dup["id"]);
    let (status, _) = api.send(Method::DELETE, &wrong_end, Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .send(
            Method::DELETE,
            &format!("/api/v1/incidents/INC-2/links/{}", dup["id"]),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, two) = api.get("/api/v1/incidents/INC-2").await;
    assert_eq!(
        (two["status"].clone(), two["duplicate_of"].clone()),
        (json!("closed"), Value::Null)
    );
    assert_eq!(two["links"], json!([]));
}
both_backends!(
    links_show_on_both_and_a_duplicate_is_closed,
    links_show_on_both_and_a_duplicate_is_closed
);

/// From the page: the form links, a mistake comes back on the form with what was typed;
/// a link to a restricted incident is out of sight for those who may not see it, and the
/// entry on the open incident does not name it.
async fn links_on_the_page_and_out_of_sight(app: TestApp) {
    app.create_user("mem", Role::Responder);
    let admin = Api::new(&app, app.token(Role::Admin));
    incident(&admin, "Credential leak", "2026-11-02T10:00:00Z").await;
    incident(&admin, "Runner outage", "2026-11-02T11:00:00Z").await;
    let (status, _) = admin
        .send(
            Method::PUT,
            "/api/v1/incidents/INC-1/access",
            json!({"restricted": true, "users": ["mem"], "teams": []}),
        )
        .await;
    assert!(status.is_success());
    let outsider = Api::new(&app, app.token(Role::Responder));
    // An outsider cannot link to it: the same answer as for a missing incident.
    let (status, hidden) = outsider
        .post(
            "/api/v1/incidents/INC-2/links",
            json!({"kind": "related", "other": "INC-1"}),
        )
        .await;
    let (_, missing) = outsider
        .post(
            "/api/v1/incidents/INC-2/links",
            json!({"kind": "related", "other": "INC-9"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        hidden["error"]["message"]
            .as_str()
            .unwrap()
            .replace("INC-1", "INC-9"),
        missing["error"]["message"]
    );
    // A member links from the page.
    let mut browser = Browser::new(&app);
    browser.login("mem", PASSWORD).await;
    browser.username = "mem".into();
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/links",
            &[("kind", "related"), ("other", "INC-7")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("There is no incident INC-7.") && html.contains("value=\"INC-7\""),
        "{html}"
    );
    browser
        .submitted(
            "/incidents/INC-1",
            "/incidents/INC-1/links",
            &[("kind", "related"), ("other", "2")],
        )
        .await;
    let (_, page) = browser.get_text("/incidents/INC-1").await;
    assert!(
        page.contains("related to <a href=\"/incidents/INC-2\">"),
        "{page}"
    );
    // The open incident's readers see neither the link nor the restricted key.
    let (_, two) = outsider.get("/api/v1/incidents/INC-2").await;
    assert_eq!(two["links"], json!([]));
    assert_eq!(
        changes(&outsider, "INC-2").await,
        ["Linked as related to a restricted incident."]
    );
    let (_, two) = Api::new(&app, app.token_of("mem"))
        .get("/api/v1/incidents/INC-2")
        .await;
    assert_eq!(two["links"][0]["other"], "INC-1");
}
both_backends!(
    links_on_the_page_and_out_of_sight,
    links_on_the_page_and_out_of_sight
);

//! The JSON API for incidents and the timeline: shapes, statuses, validation, conflicts.

use hindsight::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn incident_lifecycle_over_the_api(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Payment gateway outage", "severity": "SEV1", "impact": "Payments failed",
                   "users_affected_pct": 25, "services": ["payments"], "started_at": "2023-06-07T12:00:00+02:00",
                   "detected_at": "2023-06-07T10:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["key"], "INC-1");
    assert_eq!(
        created["started_at"], "2023-06-07T10:00:00Z",
        "offsets become UTC"
    );
    assert_eq!(created["status"], "investigating");
    assert_eq!(created["users_affected_pct"], 25.0);
    assert_eq!(created["services"], json!(["payments"]));
    assert_eq!(created["version"], 1);
    assert!(created["commander"].is_null());

    let (status, entry) = api
        .post("/api/v1/incidents/1/timeline", json!({"occurred_at": "2023-06-07T10:20:00Z", "kind": "action", "body": "Restarted pods"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(entry["kind"], "action");
    assert_eq!(entry["time_known"], true);
    assert!(entry["author"]
        .as_str()
        .unwrap()
        .starts_with("api-responder"));

    let (status, patched) = api
        .patch("/api/v1/incidents/INC-1", json!({"version": 1, "status": "resolved", "resolved_at": "2023-06-07T14:00:00Z", "users_affected_pct": null}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["version"], 2);
    assert_eq!(
        patched["resolved_at"], "2023-06-07T14:00:00Z",
        "an explicit time wins over the status default"
    );
    assert!(patched["users_affected_pct"].is_null());

    // Stale version → 409 with the error body; nothing changes.
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": 1, "title": "Overwrite"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "conflict");
    let (_, full) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(full["title"], "Payment gateway outage");
    let kinds: Vec<&str> = full["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["status_change", "action", "status_change"]);
    // A backdated incident is declared at its detection; the status change happened at the
    // resolved_at given in the same edit.
    assert_eq!(full["timeline"][0]["occurred_at"], "2023-06-07T10:00:00Z");
    assert_eq!(full["timeline"][2]["occurred_at"], "2023-06-07T14:00:00Z");
    assert_eq!(
        full["timeline"][2]["body"],
        "Status changed from investigating to resolved."
    );

    // Edit and soft delete an entry.
    let id = entry["id"].as_i64().unwrap();
    let (status, edited) = api
        .patch(
            &format!("/api/v1/incidents/INC-1/timeline/{id}"),
            json!({"body": "Restarted all pods", "version": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edited["body"], "Restarted all pods");
    assert_eq!(edited["version"], 2);
    assert_eq!(app.count("timeline_revisions"), 1);
    let (status, _) = api
        .send(
            Method::DELETE,
            &format!("/api/v1/incidents/INC-1/timeline/{id}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = api.get("/api/v1/incidents/INC-1/timeline").await;
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["id"].as_i64() != Some(id)));
    assert_eq!(
        api.get("/api/v1/incidents/INC-99").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/api/v1/incidents/nonsense").await.0,
        StatusCode::NOT_FOUND
    );
}
both_backends!(
    incident_lifecycle_over_the_api,
    incident_lifecycle_over_the_api
);

async fn invalid_requests_name_the_field_and_store_nothing(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let cases = [
        (json!({"title": "x", "severity": "SEV9"}), "severity"),
        (json!({"severity": "SEV1"}), "title"),
        (json!({"title": "   "}), "title"),
        (
            json!({"title": "x", "started_at": "2023-06-07T10:00:00Z", "resolved_at": "2023-06-07T09:00:00Z"}),
            "resolved_at",
        ),
        (json!({"title": "x", "started_at": "June 7"}), "started_at"),
        (
            json!({"title": "x", "users_affected_pct": 140}),
            "users_affected_pct",
        ),
        (json!({"title": "x", "commander": "ghost"}), "commander"),
        (json!({"title": "x", "colour": "red"}), "colour"),
        (json!({"title": 5}), "body"),
    ];
    for (body, field) in cases {
        let (status, err) = api.post("/api/v1/incidents", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(err["error"]["code"], "validation", "{body}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
        assert!(!err["error"]["message"].as_str().unwrap().is_empty());
    }
    let (status, err) = api.post("/api/v1/incidents", json!({"title": "x", "started_at": "2023-06-07T10:00:00Z", "resolved_at": "2023-06-07T09:00:00Z"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(err["error"]["message"].as_str().unwrap().contains(
        "Resolved (2023-06-07 09:00 UTC) can't be before started (2023-06-07 10:00 UTC)"
    ));

    // Malformed JSON, wrong content type, oversize body.
    let url = app.url("/api/v1/incidents");
    let res = api
        .client
        .post(&url)
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    let (status, err) = json_of(res).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "bad_request");
    let res = api
        .client
        .post(&url)
        .bearer_auth(&api.token)
        .header("content-type", "text/plain")
        .body("{\"title\": \"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = format!(
        "{{\"title\": \"x\", \"impact\": \"{}\"}}",
        "a".repeat(3 * 1024 * 1024)
    );
    let res = api
        .client
        .post(&url)
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let long = "a".repeat(21_000);
    let (status, err) = api
        .post("/api/v1/incidents", json!({"title": "x", "impact": long}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "impact");
    assert_eq!(app.count("incidents"), 0, "nothing stored");

    // Timeline entries too.
    api.made("/api/v1/incidents", json!({"title": "ok"})).await;
    let entries = app.count("timeline_entries");
    for (body, field) in [
        (json!({"kind": "party", "body": "x"}), "kind"),
        (json!({"kind": "note", "body": ""}), "body"),
        (
            json!({"kind": "note", "body": "x", "occurred_at": "10am"}),
            "occurred_at",
        ),
        (json!({"kind": "note", "body": "x".repeat(20_001)}), "body"),
    ] {
        let (status, err) = api
            .post("/api/v1/incidents/INC-1/timeline", body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(err["error"]["field"], field);
    }
    assert_eq!(app.count("timeline_entries"), entries);
    let (status, err) = api
        .patch("/api/v1/incidents/INC-1", json!({"title": "no version"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "version");
}
both_backends!(
    invalid_requests_name_the_field_and_store_nothing,
    invalid_requests_name_the_field_and_store_nothing
);

/// The incident's JSON embeds its timeline from a cache kept per timeline revision: every
/// add, edit and delete shows at once, and it is exactly what `GET …/timeline` returns.
async fn incident_json_timeline_follows_every_change(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "Cache check"}))
        .await;
    let timeline = |full: &serde_json::Value| full["timeline"].as_array().unwrap().clone();
    let (_, first) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(timeline(&first).len(), 1, "the declared entry");
    let (_, added) = api
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"body": "Restarted gw-3"}),
        )
        .await;
    let (_, second) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(timeline(&second).len(), 2);
    let id = added["id"].as_i64().unwrap();
    let (status, _) = api
        .patch(
            &format!("/api/v1/incidents/INC-1/timeline/{id}"),
            json!({"body": "Restarted gw-3 and gw-4", "version": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, third) = api.get("/api/v1/incidents/INC-1").await;
    assert!(timeline(&third)
        .iter()
        .any(|e| e["body"] == "Restarted gw-3 and gw-4"));
    let (_, list) = api.get("/api/v1/incidents/INC-1/timeline").await;
    assert_eq!(
        list["items"],
        json!(timeline(&third)),
        "the same entries, the same shape"
    );
    let (status, _) = api
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/incidents/INC-1/timeline/{id}"),
            json!({}),
        )
        .await;
    assert!(status.is_success());
    let (_, fourth) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(timeline(&fourth).len(), 1);
}
both_backends!(
    incident_json_timeline_follows_every_change,
    incident_json_timeline_follows_every_change
);

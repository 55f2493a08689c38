//! Escalations, root causes and follow-up tasks: pages and API, validation, roles,
//! conflicts and audit.

use hindsight::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn new_incident(api: &Api) {
    let (status, _) = api
        .post("/api/v1/incidents", json!({"title": "Payment gateway outage", "severity": "SEV1", "started_at": "2023-06-07T10:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn escalations_to_two_teams_and_their_answers(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    new_incident(&api).await;
    let browser = app.login_as(Role::Responder).await;
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/escalations",
            &[
                ("target", "DBA team, network engineering"),
                ("reason", "DB or network suspected"),
                ("escalated_at", "2023-06-07 11:00"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("escalations"), 2);
    let (_, html) = browser.get_text("/incidents/INC-1").await;
    assert!(
        html.contains("Escalated to DBA team, network engineering. DB or network suspected"),
        "one timeline entry for both"
    );
    assert!(html.contains("2 pending"));

    let (_, list) = api.get("/api/v1/incidents/INC-1/escalations").await;
    assert_eq!(list["total"], 2);
    let first = &list["items"][0];
    assert_eq!(first["target"], "DBA team");
    assert_eq!(first["state"], "pending");
    assert_eq!(first["escalated_at"], "2023-06-07T11:00:00Z");
    let id = first["id"].as_i64().unwrap();

    // Acknowledge from the page; answering twice is a conflict.
    let res = browser
        .post(
            "/incidents/INC-1",
            &format!("/escalations/{id}/state"),
            &[("state", "acknowledged"), ("version", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = browser.get_text("/incidents/INC-1").await;
    assert!(html.contains("acknowledged after"));
    assert!(html.contains("1 pending"));
    let (status, body) = api
        .patch(
            &format!("/api/v1/escalations/{id}"),
            json!({"state": "declined"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let second = list["items"][1]["id"].as_i64().unwrap();
    let (status, body) = api
        .patch(
            &format!("/api/v1/escalations/{second}"),
            json!({"state": "sleeping"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "state");
    let (status, body) = api
        .patch(
            &format!("/api/v1/escalations/{second}"),
            json!({"state": "acknowledged", "acknowledged_at": "2023-06-07T11:20:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["acknowledged_at"], "2023-06-07T11:20:00Z");

    // API: several targets at once; validation; viewers cannot escalate.
    let (status, body) = api
        .post(
            "/api/v1/incidents/INC-1/escalations",
            json!({"targets": ["SRE lead", "CTO"], "reason": "SEV1 > 1h"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    let (status, body) = api
        .post(
            "/api/v1/incidents/INC-1/escalations",
            json!({"target": "  "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "target");
    let viewer = app.login_as(Role::Viewer).await;
    let res = viewer
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/escalations",
            &[("target", "anyone")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = browser
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/escalations",
            &[("target", ""), ("reason", "kept reason")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text().await.unwrap().contains("kept reason"),
        "the escalation form comes back with the input"
    );
    assert_eq!(app.count("escalations"), 4);
}
both_backends!(
    escalations_to_two_teams_and_their_answers,
    escalations_to_two_teams_and_their_answers
);

async fn root_causes_are_edited_and_only_admins_delete(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    new_incident(&api).await;
    let browser = app.login_as(Role::Responder).await;
    let res = browser
        .post(
            "/incidents/INC-1/root-causes/new",
            "/incidents/INC-1/root-causes",
            &[
                ("kind", "primary"),
                ("category", "configuration"),
                (
                    "description",
                    "An **incorrect parameter** <script>x()</script>",
                ),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = browser.get_text("/incidents/INC-1").await;
    assert!(html.contains("<strong>incorrect parameter</strong>"));
    assert!(!html.contains("<script>x()"));
    assert!(html.contains("1 primary"));

    let res = browser
        .post(
            "/incidents/INC-1/root-causes/new",
            "/incidents/INC-1/root-causes",
            &[
                ("kind", "primary"),
                ("category", "cosmic rays"),
                ("description", "kept"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("kept</textarea>"));

    let (status, cause) = api.post("/api/v1/incidents/INC-1/root-causes", json!({"kind": "contributing", "category": "process", "description": "No config review"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = cause["id"].as_i64().unwrap();
    let (status, patched) = api
        .patch(
            &format!("/api/v1/root-causes/{id}"),
            json!({"description": "No review of config changes"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["category"], "process");
    let (_, list) = api.get("/api/v1/incidents/INC-1/root-causes").await;
    assert_eq!(list["items"][0]["kind"], "primary", "primary first");

    let (status, _) = api
        .send(
            Method::DELETE,
            &format!("/api/v1/root-causes/{id}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "responders do not delete");
    let res = browser
        .post(
            "/incidents/INC-1",
            &format!("/root-causes/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let admin = Api::new(&app, app.token(Role::Admin));
    let (status, _) = admin
        .send(
            Method::DELETE,
            &format!("/api/v1/root-causes/{id}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.count("root_causes"), 1);
    let admin_browser = app.login_as(Role::Admin).await;
    let (_, audit) = admin_browser.get_text("/audit").await;
    assert!(
        audit.contains("root_cause.delete") && audit.contains("No review of config changes"),
        "the deleted text is kept in the audit log"
    );
}
both_backends!(
    root_causes_are_edited_and_only_admins_delete,
    root_causes_are_edited_and_only_admins_delete
);

async fn tasks_validate_version_and_audit(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    new_incident(&api).await;
    app.create_user("dana", Role::Responder);
    app.create_user("omar", Role::Responder);
    let (status, task) = api
        .post(
            "/api/v1/incidents/INC-1/tasks",
            json!({"title": "Review change management", "kind": "process", "priority": "high", "owner": "dana", "team": "platform",
                   "due_on": "2023-07-01", "external_url": "https://tracker.example.com/OPS-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    assert_eq!(task["incident"], "INC-1");
    assert_eq!(task["status"], "open");
    assert_eq!(task["overdue"], true);
    assert!(task["completed_at"].is_null());

    for (body, field) in [
        (json!({"title": "x", "owner": "ghost"}), "owner"),
        (
            json!({"title": "x", "external_url": "javascript:alert(1)"}),
            "external_url",
        ),
        (
            json!({"title": "x", "external_url": "ftp://files.example.com/x"}),
            "external_url",
        ),
        (json!({"title": "x", "due_on": "next week"}), "due_on"),
        (json!({"title": "x", "kind": "fix"}), "kind"),
        (json!({"title": "x", "priority": "urgent"}), "priority"),
        (json!({"title": "x", "status": "finished"}), "status"),
        (json!({"title": ""}), "title"),
    ] {
        let (status, err) = api
            .post("/api/v1/incidents/INC-1/tasks", body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(err["error"]["field"], field, "{body}");
    }
    assert_eq!(app.count("tasks"), 1, "nothing stored");

    let id = task["id"].as_i64().unwrap();
    let (status, done) = api
        .patch(
            &format!("/api/v1/tasks/{id}"),
            json!({"version": 1, "status": "done", "owner": "omar"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(done["completed_at"].is_string());
    assert_eq!(done["overdue"], false);
    assert_eq!(done["owner"], "omar");
    let (status, _) = api
        .patch(
            &format!("/api/v1/tasks/{id}"),
            json!({"version": 1, "title": "stale"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, reopened) = api
        .patch(
            &format!("/api/v1/tasks/{id}"),
            json!({"version": 2, "status": "in_progress", "due_on": null}),
        )
        .await;
    assert!(reopened["completed_at"].is_null());
    assert!(reopened["due_on"].is_null());

    // The edit page: stale version → 409 with input kept.
    let browser = app.login_as(Role::Responder).await;
    let edit = format!("/tasks/{id}/edit");
    let res = browser
        .post(
            &edit,
            &edit,
            &[
                ("title", "My newer title"),
                ("kind", "process"),
                ("priority", "high"),
                ("status", "open"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("value=\"My newer title\""));

    let admin = app.login_as(Role::Admin).await;
    let (_, audit) = admin.get_text("/audit").await;
    for action in ["task.create", "task.reassign", "task.complete"] {
        assert!(audit.contains(action), "{action} audited");
    }
    assert!(audit.contains("dana (platform) → omar (platform)"));
}
both_backends!(
    tasks_validate_version_and_audit,
    tasks_validate_version_and_audit
);

/// A viewer given a follow-up may mark it done (its owner sets its status, whatever their
/// role), and nothing else; other viewers may not.
async fn a_tasks_owner_sets_its_status(app: TestApp) {
    app.create_user("vic", Role::Viewer);
    app.create_user("val", Role::Viewer);
    let api = Api::new(&app, app.token(Role::Responder));
    new_incident(&api).await;
    let (status, task) = api
        .post(
            "/api/v1/incidents/INC-1/tasks",
            json!({"title": "Add a runbook", "owner": "vic"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    let path = format!("/api/v1/tasks/{}", task["id"]);
    let vic = Api::new(&app, app.token_of("vic"));
    let val = Api::new(&app, app.token_of("val"));
    let (status, _) = val
        .patch(&path, json!({"version": 1, "status": "done"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not theirs");
    let (status, body) = vic
        .patch(&path, json!({"version": 1, "title": "Something else"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = vic
        .patch(&path, json!({"version": 1, "status": "done"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "done");
    // The board offers it to them.
    let browser = Browser::new(&app);
    browser.login("vic", PASSWORD).await;
    let (_, board) = browser.get_text("/tasks?status=").await;
    assert!(board.contains("yours: you may set its status"), "{board}");
}
both_backends!(a_tasks_owner_sets_its_status, a_tasks_owner_sets_its_status);

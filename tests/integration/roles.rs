//! Incident roles beside the commander (communications lead, scribe, operations lead): set
//! over the API and the edit form, shown in the header, logged on the timeline, exported in
//! the front matter and restored by importing that document.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn roles_are_set_shown_logged_and_exported(app: TestApp) {
    for name in ["ann", "rex", "otto"] {
        app.create_user(name, Role::Responder);
    }
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, created) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Checkout errors", "communications_lead": "ann"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["communications_lead"], "ann");
    assert_eq!(created["scribe"], serde_json::Value::Null);

    // Unknown people are refused, naming the field; nothing changes.
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": created["version"], "scribe": "ghost"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "scribe");
    let (status, body) = api
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": created["version"], "scribe": "rex", "operations_lead": "otto", "communications_lead": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            &body["communications_lead"],
            &body["scribe"],
            &body["operations_lead"]
        ),
        (&json!(null), &json!("rex"), &json!("otto"))
    );
    let (_, timeline) = api.get("/api/v1/incidents/INC-1/timeline").await;
    let change = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "change")
        .expect("a change entry");
    assert_eq!(
        change["body"],
        "Changed communications lead ann → nobody; scribe nobody → rex; operations lead nobody → otto."
    );

    // The header names them; the edit form changes them.
    let b = app.login_as(Role::Responder).await;
    let (_, page) = b.get_text("/incidents/INC-1").await;
    assert!(page.contains("Scribe: <strong>rex</strong>"));
    assert!(page.contains("Operations lead: <strong>otto</strong>"));
    assert!(!page.contains("Communications lead:"));
    let (_, form) = b.get_text("/incidents/INC-1/edit").await;
    let version = body["version"].to_string();
    let res = b
        .post(
            "/incidents/INC-1/edit",
            "/incidents/INC-1/edit",
            &[
                ("title", "Checkout errors"),
                ("severity", "SEV3"),
                ("status", "investigating"),
                ("communications_lead", "ann"),
                ("scribe", "rex"),
                ("operations_lead", "otto"),
                ("started_at", &form_value(&form, "started_at")),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, after) = b.get_text(&location(&res)).await;
    assert!(!after.contains("class=\"alert\""), "{}", location(&res));
    let (_, now) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(now["communications_lead"], "ann");

    // The export's front matter carries them; importing it restores them.
    let (_, doc) = api.get_text("/api/v1/incidents/INC-1/postmortem.md").await;
    assert!(
        doc.contains("communications_lead: \"ann\"\nscribe: \"rex\"\noperations_lead: \"otto\"\n"),
        "{doc}"
    );
    let res = api
        .client
        .post(app.url("/api/v1/import"))
        .bearer_auth(&api.token)
        .header("content-type", "text/markdown")
        .body(doc)
        .send()
        .await
        .unwrap();
    let (status, imported) = json_of(res).await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    assert_eq!(imported["scribe"], "rex");
    assert_eq!(imported["operations_lead"], "otto");
}
both_backends!(
    roles_are_set_shown_logged_and_exported,
    roles_are_set_shown_logged_and_exported
);

/// The value of input `name` on a form page.
fn form_value(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page.find(&marker).map(|i| i + marker.len()).unwrap_or(0);
    page[at..].split('"').next().unwrap_or_default().to_string()
}

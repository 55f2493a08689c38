//! Concurrency: many writers on one incident, and concurrent edits at one version.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn concurrent_writers_and_edits(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "Busy incident"}))
        .await;
    // 64 concurrent timeline writes: every one succeeds.
    let writes = (0..64).map(|i| {
        let api = Api::new(&app, api.token.clone());
        async move {
            api.post(
                "/api/v1/incidents/INC-1/timeline",
                json!({"kind": "note", "body": format!("writer {i}")}),
            )
            .await
            .0
        }
    });
    let statuses = futures_util::future::join_all(writes).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    let (_, list) = api
        .get("/api/v1/incidents/INC-1/timeline?per_page=1000")
        .await;
    assert_eq!(list["total"], 65);

    // 16 concurrent edits at the same version: exactly one wins, the rest conflict.
    let edits = (0..16).map(|i| {
        let api = Api::new(&app, api.token.clone());
        async move {
            api.patch(
                "/api/v1/incidents/INC-1",
                json!({"version": 1, "title": format!("Edit {i}")}),
            )
            .await
            .0
        }
    });
    let statuses = futures_util::future::join_all(edits).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 15), "{statuses:?}");
    let (_, i) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(i["version"], 2);
}
both_backends!(concurrent_writers_and_edits, concurrent_writers_and_edits);

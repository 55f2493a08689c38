//! The OpenAPI description covers every route of the JSON API's router.

use std::collections::BTreeSet;

use hindsight::auth::Role;
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;

/// `(METHOD, /api/v1/path)` for every JSON API route: the table `src/routes.rs` registers
/// with actix (`api_routes!`), not a copy of it.
fn router_routes() -> BTreeSet<(String, String)> {
    hindsight::routes::API_ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), format!("/api/v1{path}")))
        .collect()
}

async fn openapi_covers_the_router(app: TestApp) {
    let res = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let spec: serde_json::Value = res.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routes = router_routes();
    assert!(routes.len() >= 27, "{routes:?}");
    let missing: Vec<_> = routes.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes without an OpenAPI entry: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    let severity = &spec["components"]["schemas"]["IncidentJson"]["properties"]["severity"];
    let severity = match severity["$ref"].as_str() {
        Some(r) => &spec["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => severity,
    };
    assert_eq!(
        severity["enum"],
        serde_json::json!(["SEV1", "SEV2", "SEV3", "SEV4"]),
        "{severity}"
    );
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());

    // And the table is what the server routes: each is answered by its handler (an unknown
    // incident, a bad body, a role refused), never by the "no such API route" fallback or a
    // 405; a method a path does not list gets the fallback's 404 or a 405.
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, body) = api.get("/api/v1/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("API route"),
        "{body}"
    );
    let concrete = |path: &str| path.replace("{key}", "INC-999").replace("{id}", "999");
    for (method, path) in &routes {
        let (status, body) = api
            .send(
                method.parse().unwrap(),
                &concrete(path),
                serde_json::json!({}),
            )
            .await;
        let fallback = status == StatusCode::NOT_FOUND
            && body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("API route"));
        assert!(
            !fallback && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {status} {body}"
        );
    }
    let (status, _) = api
        .send(reqwest::Method::DELETE, "/api/v1/me", serde_json::json!({}))
        .await;
    assert!(
        status == StatusCode::METHOD_NOT_ALLOWED || status == StatusCode::NOT_FOUND,
        "{status}"
    );
}
both_backends!(openapi_covers_the_router, openapi_covers_the_router);

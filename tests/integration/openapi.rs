//! The OpenAPI description covers every route of the JSON API's router.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;

/// `(METHOD, /api/v1/path)` for every route registered in the `/api/v1` scope of
/// `src/routes.rs` (the route table is one screen of `r("/path").route(method()…)` calls).
fn router_routes() -> BTreeSet<(String, String)> {
    let source = include_str!("../../src/routes.rs");
    let scope = &source[source.find("web::scope(\"/api/v1\")").expect("api scope")..];
    let scope = &scope[..scope.find(".default_service").expect("end of scope")];
    let mut routes = BTreeSet::new();
    for line in scope.lines().filter(|l| l.contains(".service(r(\"")) {
        let path = line
            .split("r(\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        for method in ["get", "post", "put", "patch", "delete"] {
            if line.contains(&format!(".route({method}()")) {
                routes.insert((method.to_uppercase(), format!("/api/v1{path}")));
            }
        }
    }
    routes
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
}
both_backends!(openapi_covers_the_router, openapi_covers_the_router);

//! CSRF, escaping of user text, security headers, ops endpoints.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn forms_without_a_valid_csrf_token_are_refused(app: TestApp) {
    let browser = app.login_as(Role::Admin).await;
    let res = browser
        .post_raw("/incidents", &[("title", "no token"), ("severity", "SEV2")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("security token"));
    let res = browser
        .post_raw(
            "/incidents",
            &[
                ("csrf_token", "0".repeat(64).as_str()),
                ("title", "bad token"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = browser
        .post_raw(
            "/admin/users",
            &[
                ("csrf_token", "wrong"),
                ("username", "x"),
                ("role", "admin"),
                ("password", "longenough1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = browser.post_raw("/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("incidents"), 0);
    assert_eq!(app.count("users"), 1);
    assert_eq!(app.count("sessions"), 1);

    // Another user's token does not work either.
    let other = app.login_as(Role::Admin).await;
    let (_, html) = other.get_text("/incidents").await;
    let foreign = csrf_token(&html).unwrap();
    let res = browser
        .post_raw(
            "/incidents",
            &[("csrf_token", &foreign), ("title", "foreign token")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Login needs its pre-session token.
    let fresh = Browser::new(&app);
    let res = fresh
        .post_raw(
            "/login",
            &[("username", &browser.username), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("incidents"), 0);
}
both_backends!(
    forms_without_a_valid_csrf_token_are_refused,
    forms_without_a_valid_csrf_token_are_refused
);

async fn user_text_is_escaped_everywhere(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let (status, _) = api
        .post(
            "/api/v1/incidents",
            json!({"title": evil, "impact": evil, "services": [evil]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for body in [
        evil,
        "[click](javascript:alert(3))",
        "<a href=\"data:text/html,x\">d</a> <svg onload=alert(4)>",
    ] {
        let (status, _) = api
            .post(
                "/api/v1/incidents/INC-1/timeline",
                json!({"kind": "note", "body": body}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let browser = app.login_as(Role::Viewer).await;
    for path in ["/incidents/INC-1", "/incidents", "/"] {
        let (_, html) = browser.get_text(path).await;
        assert!(!html.contains("<script>alert"), "{path}");
        assert!(!html.contains("<img src=x onerror"), "{path}");
        assert!(!html.contains("<img src=\"x\" onerror"), "{path}");
        assert!(!html.contains("href=\"javascript:"), "{path}");
        assert!(!html.contains("<svg onload"), "{path}");
        assert!(!html.contains("href=\"data:"), "{path}");
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path} shows the title as text"
        );
    }
}
both_backends!(
    user_text_is_escaped_everywhere,
    user_text_is_escaped_everywhere
);

async fn headers_health_and_metrics(app: TestApp) {
    let res = reqwest::get(app.url("/login")).await.unwrap();
    let headers = res.headers();
    let csp = headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(headers.get("x-frame-options").unwrap(), "DENY");
    assert!(headers.get("referrer-policy").is_some());
    assert!(headers.get("x-request-id").is_some());

    let (status, health) = json_of(reqwest::get(app.url("/healthz")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");

    reqwest::get(app.url("/incidents/INC-1")).await.unwrap();
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("hindsight_http_requests_total{method=\"GET\",route=\"/incidents/{key}\",status=\"303\"} 1"), "{metrics}");
    assert!(metrics.contains("hindsight_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("hindsight_db_pool_connections"));

    for path in ["/static/app.css", "/static/app.js"] {
        assert_eq!(
            reqwest::get(app.url(path)).await.unwrap().status(),
            StatusCode::OK
        );
    }
    for path in [
        "/static/..%2Fsrc%2Fmain.rs",
        "/static/../Cargo.toml",
        "/static/nope.css",
    ] {
        assert_eq!(
            reqwest::get(app.url(path)).await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}
both_backends!(headers_health_and_metrics, headers_health_and_metrics);

/// With `HINDSIGHT_METRICS_TOKEN` set, `/metrics` answers only that bearer token.
async fn metrics_can_require_a_token(backend: Backend) {
    let Some(storage) = Storage::new(backend) else {
        return;
    };
    let app = start_with(storage, |c| c.metrics_token = Some("scrape-secret".into()));
    let client = reqwest::Client::new();
    for auth in [None, Some("Bearer wrong"), Some("scrape-secret")] {
        let mut req = client.get(app.url("/metrics"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(!res.text().await.unwrap().contains("hindsight_"));
    }
    let res = client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("hindsight_http_requests_total"));
    finish().await;
}

#[actix_web::test]
async fn metrics_can_require_a_token_sqlite() {
    metrics_can_require_a_token(Backend::Sqlite).await;
}

#[actix_web::test]
async fn metrics_can_require_a_token_postgres() {
    metrics_can_require_a_token(Backend::Postgres).await;
}

//! HTTP as load balancers, uptime checks, browsers and clients expect it: `HEAD` answers
//! like `GET` without a body, signed-in pages are never stored (Back after signing out shows
//! no incident), every 413 has the route's error format, and an unreachable database is a
//! 503 with `Retry-After` in the route's format, never a 500.

use std::time::Duration;

use hindsight::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn head_caching_and_error_formats(app: TestApp) {
    let browser = app.login_as(Role::Responder).await;
    let token = app.token(Role::Viewer);
    Api::new(&app, app.token(Role::Responder))
        .made("/api/v1/incidents", json!({"title": "Checkout errors"}))
        .await;

    let res = browser.get("/incidents/INC-1").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    // Error pages keep a signed-in reader's header; anonymous ones have none.
    for (who, path) in [
        (&browser, "/incidents/INC-404"),
        (&browser, "/no-such-page"),
    ] {
        let (status, page) = who.get_text(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            page.contains("Inbox") && page.contains("Declare"),
            "{path}: {page}"
        );
    }
    let (status, page) = Browser::new(&app).get_text("/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!page.contains("Inbox"));

    // HEAD: the GET's status and headers, no body.
    for (path, authorized, want) in [
        ("/healthz", false, StatusCode::OK),
        ("/incidents", false, StatusCode::OK),
        ("/incidents/INC-1", false, StatusCode::OK),
        ("/incidents/INC-404", false, StatusCode::NOT_FOUND),
        ("/api/v1/incidents", true, StatusCode::OK),
        ("/api/v1/incidents/INC-1", true, StatusCode::OK),
        ("/api/v1/incidents/INC-404", true, StatusCode::NOT_FOUND),
    ] {
        let mut req = browser.client.request(Method::HEAD, app.url(path));
        if authorized {
            req = req.bearer_auth(&token);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), want, "HEAD {path}");
        let get_type = browser
            .client
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .headers()["content-type"]
            .clone();
        assert_eq!(res.headers()["content-type"], get_type, "HEAD {path}");
        assert!(
            res.bytes().await.unwrap().is_empty(),
            "HEAD {path} has no body"
        );
    }

    // A form posted after the session ended goes to sign-in and back to its page (where
    // the page script restores the unsent text), not to the dashboard.
    let signed_out = Browser::new(&app);
    let res = signed_out
        .client
        .post(app.url("/incidents/INC-1/timeline"))
        .header("referer", app.url("/incidents/INC-1"))
        .form(&[("csrf_token", "stale"), ("body", "Restarted gw-3")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=%2Fincidents%2FINC-1");

    // Writes to a missing incident are 404s, not database errors.
    let writer = Api::new(&app, app.token(Role::Responder));
    for (path, body) in [
        (
            "/api/v1/incidents/INC-404/escalations",
            json!({"target": "dba"}),
        ),
        (
            "/api/v1/incidents/INC-404/timeline",
            json!({"kind": "action", "body": "x"}),
        ),
        ("/api/v1/incidents/INC-404/tasks", json!({"title": "x"})),
    ] {
        let (status, answer) = writer.post(path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "not_found");
    }

    // An import over the limit: 413 in the API's JSON format.
    let res = browser
        .client
        .post(app.url("/api/v1/import"))
        .bearer_auth(&token)
        .header("content-type", "text/markdown")
        .body(vec![b'x'; 9 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, body) = json_of(res).await;
    assert_eq!(body["error"]["code"], "too_large", "{body}");
}
both_backends!(
    head_caching_and_error_formats,
    head_caching_and_error_formats
);

/// PostgreSQL stops taking connections to the app's database and drops those it has: pages
/// and the API answer 503 with `Retry-After` and the usual error body, not 500; once it is
/// back, so is the app.
#[actix_web::test]
async fn an_unreachable_database_is_a_503_with_retry_after() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let token = app.token(Role::Responder);
    let api = Api::new(&app, token.clone());
    let browser = app.login_as(Role::Viewer).await;
    api.made("/api/v1/incidents", json!({"title": "Checkout errors"}))
        .await;
    let hindsight::db::DbUrl::Postgres(url) = &app.url else {
        unreachable!()
    };
    let name = url.rsplit('/').next().unwrap().to_string();
    let base = postgres_base_url().unwrap();
    let admin = |sql: String| {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut conn = diesel::PgConnection::establish(&base).unwrap();
        conn.batch_execute(&sql).unwrap();
    };
    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
    admin(format!(
        // Only the app's connections: an autovacuum worker there (a superuser process)
        // would refuse, and failed this test once in CI.
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND backend_type = 'client backend'"
    ));
    let (status, body) = api.get("/api/v1/incidents").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    let (status, body) = api
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"kind": "action", "body": "while it is down"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let res = browser.get("/incidents").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "5");
    assert!(res.text().await.unwrap().contains("cannot be reached"));

    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
    let mut back = false;
    for _ in 0..20 {
        if api.get("/api/v1/incidents").await.0 == StatusCode::OK {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(back, "the app recovers when the database does");
    let (_, timeline) = api.get("/api/v1/incidents/INC-1/timeline").await;
    assert!(
        !timeline.to_string().contains("while it is down"),
        "nothing was half written"
    );
    finish().await;
}

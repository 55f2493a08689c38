//! Hostile input: oversized and malformed requests, bad encodings, deep JSON, duplicate
//! and malformed query parameters, SQL metacharacters, XSS vectors in every rendered field,
//! and conditional GETs.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

/// A selection of the OWASP XSS filter evasion vectors.
const VECTORS: &[&str] = &[
    "<script>alert('xss')</script>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
    "<img src=x onerror=alert(1)//",
    "<svg/onload=alert('XSS')>",
    "<BODY ONLOAD=alert('XSS')>",
    "<iframe src=\"javascript:alert('XSS');\"></iframe>",
    "\"><script>alert(document.cookie)</script>",
    "<a href=\"jav&#x09;ascript:alert('XSS');\">x</a>",
    "<div style=\"background-image: url(javascript:alert('XSS'))\">",
    "[md link](javascript:alert(1)) ![img](data:text/html;base64,PHNjcmlwdD4=)",
];

fn assert_inert(html: &str, path: &str) {
    let lower = html.to_lowercase();
    for needle in [
        "<script>alert",
        "<img src=\"javascript",
        "<img src=javascript",
        "<svg/onload",
        "<body onload",
        "<iframe",
        "href=\"javascript:",
        "href=\"jav",
        "src=\"data:text/html",
        "style=\"background-image",
    ] {
        // Escaped text is fine; live markup is not. An attribute is live only inside a real
        // tag: a `<` before it with no `>` in between (escaped markup shows as `&lt;a href=…`).
        for (at, _) in lower.match_indices(needle) {
            let in_tag = needle.starts_with('<')
                || lower[..at]
                    .rfind('<')
                    .is_some_and(|open| !lower[open..at].contains('>'));
            if in_tag {
                let context = &html[at.saturating_sub(40)..(at + 60).min(html.len())];
                panic!("{path}: live `{needle}` in …{context}…");
            }
        }
    }
}

async fn xss_vectors_in_every_field_stay_inert(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Admin));
    for (n, v) in VECTORS.iter().enumerate() {
        let (status, body) = api.post("/api/v1/incidents", json!({"title": v, "impact": v, "services": [format!("svc{n}{}", v.chars().take(20).collect::<String>())]})).await;
        assert_eq!(status, StatusCode::CREATED, "{v}: {body}");
        let key = body["key"].as_str().unwrap().to_string();
        api.made(
            &format!("/api/v1/incidents/{key}/timeline"),
            json!({"kind": "note", "body": v}),
        )
        .await;
        api.made(
            &format!("/api/v1/incidents/{key}/escalations"),
            json!({"target": v.replace(',', " "), "reason": v}),
        )
        .await;
        api.made(
            &format!("/api/v1/incidents/{key}/root-causes"),
            json!({"kind": "primary", "category": "unknown", "description": v}),
        )
        .await;
        let (status, _) = api.post(&format!("/api/v1/incidents/{key}/tasks"), json!({"title": v, "team": v.chars().take(90).collect::<String>(), "description": v})).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        let (status, body) = api
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/incidents/{key}/postmortem"),
                json!({"version": 0, "summary": v, "conclusion": v}),
            )
            .await;
        assert!(status.is_success(), "{status} {body}");
    }
    let browser = app.login_as(Role::Admin).await;
    let mut paths = vec![
        "/".to_string(),
        "/incidents".into(),
        "/tasks".into(),
        "/tasks?group=team".into(),
        "/postmortems".into(),
        "/audit".into(),
    ];
    for n in 1..=VECTORS.len() {
        paths.push(format!("/incidents/INC-{n}"));
        paths.push(format!("/incidents/INC-{n}/postmortem"));
        paths.push(format!("/incidents/INC-{n}/edit"));
    }
    for path in &paths {
        let (status, html) = browser.get_text(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_inert(&html, path);
    }
}
both_backends!(
    xss_vectors_in_every_field_stay_inert,
    xss_vectors_in_every_field_stay_inert
);

async fn malformed_requests_get_clear_4xx(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let client = reqwest::Client::new();
    let url = app.url("/api/v1/incidents");
    // Invalid UTF-8 and deeply nested JSON.
    let res = client
        .post(&url)
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let deep = "[".repeat(5000) + &"]".repeat(5000);
    let res = client
        .post(&url)
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert!(
        status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
        "{status} {body}"
    );
    // Malformed and duplicate query parameters: JSON errors on the API, pages elsewhere.
    let (status, body) = api.get("/api/v1/incidents?page=abc").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "page");
    let (status, body) = api.get("/api/v1/incidents?status=open&status=closed").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
    // SQL metacharacters are just text.
    let (status, body) = api
        .get("/api/v1/incidents?q=%27%3B%20DROP%20TABLE%20incidents%3B%20--")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 0);
    let (status, _) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "x'); DROP TABLE incidents; --"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(app.count("incidents"), 1);
    // Oversized headers are refused (a 4xx, or the connection closed) and the server
    // carries on.
    let res = client
        .get(app.url("/healthz"))
        .header("x-big", "a".repeat(256 * 1024))
        .send()
        .await;
    assert!(res.map(|r| r.status().is_client_error()).unwrap_or(true));
    let fresh = reqwest::Client::new();
    assert_eq!(
        fresh
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Bad path segments are 404s, forms with bad encoding 400s.
    let browser = app.login_as(Role::Responder).await;
    assert_eq!(
        browser.get("/tasks/not-a-number/edit").await.status(),
        StatusCode::NOT_FOUND
    );
    let (status, page) = browser.get_text("/incidents/INC-x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("incident “INC-x” not found"), "{page}");
    // The same key extractor answers the API in its own format, on every incident route.
    let api = Api::new(&app, app.token(Role::Responder));
    for path in [
        "/api/v1/incidents/INC-x",
        "/api/v1/incidents/0/timeline",
        "/api/v1/incidents/INC-x/timeline/1",
    ] {
        let (status, body) = if path.ends_with("/1") {
            api.send(
                reqwest::Method::PATCH,
                path,
                serde_json::json!({"body": "x"}),
            )
            .await
        } else {
            api.get(path).await
        };
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }
    let (_, page) = browser.get_text("/incidents").await;
    let csrf = csrf_token(&page).unwrap();
    let res = browser
        .client
        .post(app.url("/incidents"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf_token={csrf}&title=%FF%FE"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(app.count("incidents"), 1);
}
both_backends!(
    malformed_requests_get_clear_4xx,
    malformed_requests_get_clear_4xx
);

async fn unchanged_documents_answer_304(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "Cached"}))
        .await;
    let client = reqwest::Client::new();
    for path in [
        "/api/v1/incidents/INC-1",
        "/api/v1/incidents/INC-1/postmortem.md",
    ] {
        let first = client
            .get(app.url(path))
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        let etag = first
            .headers()
            .get("etag")
            .expect("etag")
            .to_str()
            .unwrap()
            .to_string();
        let again = client
            .get(app.url(path))
            .bearer_auth(&api.token)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.text().await.unwrap().is_empty());
    }
    let first = client
        .get(app.url("/api/v1/incidents/INC-1"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    let etag = first
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    api.made(
        "/api/v1/incidents/INC-1/timeline",
        json!({"body": "changed"}),
    )
    .await;
    let after = client
        .get(app.url("/api/v1/incidents/INC-1"))
        .bearer_auth(&api.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        StatusCode::OK,
        "a change gives a new document"
    );
    let browser = app.login_as(Role::Viewer).await;
    let page = browser.get("/incidents/INC-1").await;
    let etag = page
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let res = browser
        .client
        .get(app.url("/incidents/INC-1"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
}
both_backends!(
    unchanged_documents_answer_304,
    unchanged_documents_answer_304
);

/// A client that never finishes its request head is cut off after the request timeout (1 s
/// in tests, 5 s by default) with a 408 or a closed connection; others are served meanwhile.
async fn slow_clients_are_cut_off(app: TestApp) {
    use std::io::{Read, Write};
    let addr = app.address.trim_start_matches("http://").to_string();
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .unwrap();
    let (status, _) = Browser::new(&app).get_text("/login").await;
    assert_eq!(status, StatusCode::OK, "others are served meanwhile");
    slow.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = slow.read_to_end(&mut answer);
    assert!(
        read.is_ok(),
        "the server closes the connection: {read:?} after {:?}",
        started.elapsed()
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}
both_backends!(slow_clients_are_cut_off, slow_clients_are_cut_off);

/// One text policy on both databases: NUL and the other C0 controls (tab, LF and CR aside)
/// are refused wherever text comes in, naming the field (422) or the query (400), and
/// nothing is stored. Before, PostgreSQL answered 500 and SQLite stored the NUL.
async fn control_characters_are_refused_everywhere(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    // JSON: the field is named, nested ones by path.
    for (body, field) in [
        (json!({"title": "Checkout\u{0} down"}), "title"),
        (json!({"title": "ok", "impact": "bell\u{7}"}), "impact"),
        (
            json!({"title": "ok", "services": ["api", "pay\u{1b}[31m"]}),
            "services[1]",
        ),
    ] {
        let (status, res) = api.post("/api/v1/incidents", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
        assert_eq!(res["error"]["field"], field, "{res}");
        assert!(
            res["error"]["message"].as_str().unwrap().contains("U+"),
            "{res}"
        );
    }
    assert_eq!(app.count("incidents"), 0);
    // Tabs and line ends are text.
    let (status, _) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Checkout down", "impact": "line one\r\n\tline two"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, res) = api
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"kind": "note", "body": "a\u{0}b"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    assert_eq!(res["error"]["field"], "body");
    // Filters: a 400 in the route's format, on SQLite's search and PostgreSQL's alike.
    for path in ["/api/v1/incidents?q=%00", "/api/v1/incidents?service=a%01b"] {
        let (status, res) = api.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {res}");
        assert_eq!(res["error"]["code"], "bad_request");
    }
    let browser = app.login_as(Role::Responder).await;
    let (status, page) = browser.get_text("/incidents?q=ab%00cd").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("control character U+0000"), "{page}");
    // Forms.
    let res = browser
        .post(
            "/incidents",
            "/incidents",
            &[("title", "Checkout\u{0}down")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("title contains the control character"));
    // Imported documents: the line is named.
    let res = api
        .client
        .post(format!("{}/api/v1/import", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "text/plain; charset=utf-8")
        .body("Issue Summary:\nDuration: from 10:00 AM to 2:00 PM on June 7, 2023\nImpact: all\u{0} users\n")
        .send()
        .await
        .unwrap();
    let (status, res) = json_of(res).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    assert!(
        res["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 3:"),
        "{res}"
    );
    assert_eq!(app.count("incidents"), 1);
    assert_eq!(app.count("timeline_entries"), 1, "only the declared entry");
}
both_backends!(
    control_characters_are_refused_everywhere,
    control_characters_are_refused_everywhere
);

/// Every oversize form is a 413 with the usual error page: before, a form just over the
/// form limit got 413 but one over the body limit (1 MiB + 64 KiB) a bare 400. (Not much
/// over it: a server may close the connection on a client still sending a large body.)
async fn oversize_forms_are_413(app: TestApp) {
    let browser = app.login_as(Role::Responder).await;
    let (_, page) = browser.get_text("/incidents/new").await;
    let csrf = csrf_token(&page).unwrap();
    for size in [1024 * 1024 + 100, 1024 * 1024 + 128 * 1024] {
        let res = browser
            .client
            .post(app.url("/incidents"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf_token={csrf}&title={}", "x".repeat(size)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{size} bytes");
        assert!(
            res.text().await.unwrap().contains("larger than"),
            "{size} bytes"
        );
    }
    assert_eq!(app.count("incidents"), 0);
}
both_backends!(oversize_forms_are_413, oversize_forms_are_413);

/// A URL over 8 KiB is a 414 with the usual error body in the route's format (page or
/// JSON); before, it reached the handlers, and past 128 KiB actix-http answers 431 itself.
async fn oversize_urls_are_414(app: TestApp) {
    let browser = app.login_as(Role::Responder).await;
    let long = "x".repeat(9 * 1024);
    let res = browser
        .client
        .get(app.url(&format!("/incidents?q={long}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::URI_TOO_LONG);
    assert!(res.text().await.unwrap().contains("the limit is 8 KiB"));
    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/incidents?q={long}")))
        .bearer_auth(app.token(Role::Responder))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::URI_TOO_LONG);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "uri_too_long");
    // Just under the limit is served.
    let res = browser
        .client
        .get(app.url(&format!("/incidents?q={}", "x".repeat(8 * 1024 - 20))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
both_backends!(oversize_urls_are_414, oversize_urls_are_414);

/// A body trickled in a byte at a time is cut off at the body deadline (2 s in tests, 30 s
/// by default) with a 408, unauthenticated `/login` and the API alike. Before, 1 byte/s
/// held a connection for as long as the client liked.
async fn slow_bodies_are_cut_off(app: TestApp) {
    use std::io::{Read, Write};
    let addr = app.address.trim_start_matches("http://").to_string();
    let token = app.token(Role::Responder);
    for head in [
        "POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n".to_string(),
        format!("POST /api/v1/incidents HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"),
    ] {
        let addr = addr.clone();
        // Blocking socket work off the test's runtime, which also runs the server.
        let answer = actix_web::web::block(move || {
            let mut slow = std::net::TcpStream::connect(&addr).unwrap();
            slow.write_all(head.as_bytes()).unwrap();
            let mut writer = slow.try_clone().unwrap();
            // 1,000 bytes at 5 a second would take 200 s; the server must not wait for them.
            let trickle = std::thread::spawn(move || {
                for _ in 0..1000 {
                    if writer.write_all(b"x").is_err() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
            });
            slow.set_read_timeout(Some(std::time::Duration::from_secs(20)))
                .unwrap();
            let mut answer = [0u8; 64];
            let n = slow.read(&mut answer).expect("an answer before the body is complete");
            drop(slow);
            let _ = trickle.join();
            String::from_utf8_lossy(&answer[..n]).into_owned()
        })
        .await
        .unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
}
both_backends!(slow_bodies_are_cut_off, slow_bodies_are_cut_off);

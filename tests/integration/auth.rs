//! Setup, sign-in, sessions, roles on every route class, tokens, users admin.

use hindsight::auth::Role;
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;

async fn setup_link_works_once(app: TestApp) {
    let link = app
        .setup_url
        .clone()
        .expect("a fresh install logs a setup URL");
    let path = link.split_once("127.0.0.1:").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    let browser = Browser::new(&app);
    let (status, html) = browser.get_text(path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Create admin"));
    let token = path.split("token=").nth(1).unwrap();

    // Mismatched passwords: the form comes back, nothing created.
    let res = browser
        .post(
            path,
            "/setup",
            &[
                ("token", token),
                ("username", "mara"),
                ("password", "longenough1"),
                ("password_confirm", "different1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("The two passwords differ"));
    assert_eq!(app.count("users"), 0);

    let res = browser
        .post(
            path,
            "/setup",
            &[
                ("token", token),
                ("username", "Mara"),
                ("password", "longenough1"),
                ("password_confirm", "longenough1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    let (status, html) = browser.get_text("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("mara"), "signed in as the new admin");
    assert!(html.contains("No incidents yet"), "empty dashboard teaches");

    // Used: the link is gone and a replay creates nothing.
    let (status, gone) = Browser::new(&app).get_text(path).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(gone.contains("This setup link has been used or has expired."));
    assert!(!gone.contains("not found"), "said plainly");
    assert!(
        gone.contains("<a href=\"/incidents\">Incidents</a>"),
        "the way back"
    );
    let other = Browser::new(&app);
    let (_, login_html) = other.get_text("/login").await;
    let csrf = csrf_token(&login_html).unwrap();
    let res = other
        .post_raw(
            "/setup",
            &[
                ("csrf_token", &csrf),
                ("token", token),
                ("username", "eve"),
                ("password", "longenough1"),
                ("password_confirm", "longenough1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("users"), 1);
}
both_backends!(setup_link_works_once, setup_link_works_once);

async fn login_failures_look_alike_and_are_throttled(app: TestApp) {
    app.create_user("sam", Role::Responder);
    let browser = Browser::new(&app);
    let wrong = browser.login("sam", "wrong password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong_text = wrong.text().await.unwrap();
    let unknown = browser.login("nobody", "wrong password").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let unknown_text = unknown.text().await.unwrap();
    assert!(wrong_text.contains("Wrong username or password."));
    assert!(unknown_text.contains("Wrong username or password."));
    assert!(!wrong_text.contains("correct horse"), "password not echoed");

    for _ in 0..4 {
        browser.login("sam", "wrong again").await;
    }
    // Five failures: even the right password is refused for a while.
    let locked = browser.login("sam", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u32 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=4).contains(&wait), "the throttle's own wait: {wait}");
    assert!(locked
        .text()
        .await
        .unwrap()
        .contains("Too many failed sign-ins"));
    assert_eq!(app.count("sessions"), 0);
}
both_backends!(
    login_failures_look_alike_and_are_throttled,
    login_failures_look_alike_and_are_throttled
);

async fn login_rotates_session_and_logout_ends_it(app: TestApp) {
    app.create_user("ria", Role::Viewer);
    let browser = Browser::new(&app);
    let res = browser.get("/incidents").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=%2Fincidents");
    let (_, login) = browser.get_text("/login?next=%2Fincidents").await;
    let csrf = csrf_token(&login).unwrap();
    let res = browser
        .post_raw(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", "ria"),
                ("password", PASSWORD),
                ("next", "/incidents"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/incidents");
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // An open redirect through `next` is refused.
    let other = Browser::new(&app);
    let (_, login) = other.get_text("/login").await;
    let csrf = csrf_token(&login).unwrap();
    let res = other
        .post_raw(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", "ria"),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/");
    assert_eq!(app.count("sessions"), 2, "each login is a new session");

    let res = browser.post("/incidents", "/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("sessions"), 1);
    assert_eq!(
        browser.get("/incidents").await.status(),
        StatusCode::SEE_OTHER
    );
}
both_backends!(
    login_rotates_session_and_logout_ends_it,
    login_rotates_session_and_logout_ends_it
);

async fn roles_are_enforced_on_every_route_class(app: TestApp) {
    // Anonymous: pages redirect to login, the API answers 401 with the error body.
    let anon = Browser::new(&app);
    for path in [
        "/",
        "/incidents",
        "/incidents/new",
        "/admin/users",
        "/audit",
        "/settings/tokens",
        "/tasks",
        "/tasks.csv",
        "/postmortems",
        "/insights",
        "/incidents/INC-1/stamp",
    ] {
        let res = anon.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&res).starts_with("/login"), "{path}");
    }
    let res = reqwest::get(app.url("/api/v1/incidents")).await.unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    let bad = Api::new(&app, "hs_not-a-token".into());
    assert_eq!(
        bad.get("/api/v1/incidents").await.0,
        StatusCode::UNAUTHORIZED
    );

    // Viewer: reads, cannot write or administer.
    let viewer = app.login_as(Role::Viewer).await;
    assert_eq!(viewer.get("/incidents").await.status(), StatusCode::OK);
    assert_eq!(
        viewer.get("/incidents/new").await.status(),
        StatusCode::FORBIDDEN
    );
    let res = viewer
        .post(
            "/incidents",
            "/incidents",
            &[("title", "viewer wrote this"), ("severity", "SEV2")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("incidents"), 0);
    assert_eq!(
        viewer.get("/admin/users").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(viewer.get("/audit").await.status(), StatusCode::FORBIDDEN);
    let viewer_api = Api::new(&app, app.token(Role::Viewer));
    let (status, body) = viewer_api
        .post("/api/v1/incidents", serde_json::json!({"title": "nope"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(viewer_api.get("/api/v1/incidents").await.0, StatusCode::OK);

    // Responder: writes incidents, cannot administer.
    let responder = app.login_as(Role::Responder).await;
    let res = responder
        .post(
            "/incidents/new",
            "/incidents",
            &[("title", "Checkout errors"), ("severity", "SEV2")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/incidents/INC-1");
    assert_eq!(
        responder.get("/admin/users").await.status(),
        StatusCode::FORBIDDEN
    );
    let res = responder
        .post(
            "/incidents",
            "/admin/users",
            &[
                ("username", "x"),
                ("role", "admin"),
                ("password", "longenough1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        responder.get("/audit").await.status(),
        StatusCode::FORBIDDEN
    );
    // A viewer still cannot add to the timeline of an existing incident.
    let res = viewer
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/timeline",
            &[("kind", "note"), ("body", "hi")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Admin: administers.
    let admin = app.login_as(Role::Admin).await;
    assert_eq!(admin.get("/admin/users").await.status(), StatusCode::OK);
    let (status, audit) = admin.get_text("/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(audit.contains("incident.create"));
}
both_backends!(
    roles_are_enforced_on_every_route_class,
    roles_are_enforced_on_every_route_class
);

async fn admin_manages_users(app: TestApp) {
    let admin = app.login_as(Role::Admin).await;
    let res = admin
        .post(
            "/admin/users",
            "/admin/users",
            &[
                ("username", "new.responder"),
                ("display_name", "New R"),
                ("role", "responder"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("at least 8 characters"));
    assert!(html.contains("value=\"new.responder\""), "input kept");
    let res = admin
        .post(
            "/admin/users",
            "/admin/users",
            &[
                ("username", "new.responder"),
                ("display_name", "New R"),
                ("role", "responder"),
                ("password", "longenough1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let fresh = Browser::new(&app);
    assert_eq!(
        fresh.login("new.responder", "longenough1").await.status(),
        StatusCode::SEE_OTHER
    );

    // Disable: the session ends and sign-in fails.
    let mut conn = app.connection();
    let id = hindsight::auth::users::find_by_username(&mut conn, "new.responder")
        .unwrap()
        .unwrap()
        .id;
    drop(conn);
    let res = admin
        .post(
            "/admin/users",
            &format!("/admin/users/{id}"),
            &[
                ("role", "responder"),
                ("display_name", "New R"),
                ("disabled", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        fresh.get("/incidents").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        Browser::new(&app)
            .login("new.responder", "longenough1")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // The last admin cannot demote themself.
    let mut conn = app.connection();
    let admins = hindsight::auth::users::list(&mut conn).unwrap();
    let me = admins.iter().find(|u| u.role == Role::Admin).unwrap().id;
    drop(conn);
    let res = admin
        .post(
            "/admin/users",
            &format!("/admin/users/{me}"),
            &[("role", "viewer"), ("display_name", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("at least one active admin"));

    // Reset a password: a guessable one is refused, a strong one taken.
    let res = admin
        .post(
            "/admin/users",
            &format!("/admin/users/{id}/password"),
            &[("password", "brandnewpass")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("too easy to guess"));
    let res = admin
        .post(
            "/admin/users",
            &format!("/admin/users/{id}/password"),
            &[("password", "brand new orchard pass")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
both_backends!(admin_manages_users, admin_manages_users);

async fn tokens_are_shown_once_and_revocable(app: TestApp) {
    let responder = app.login_as(Role::Responder).await;
    let res = responder
        .post(
            "/settings/tokens",
            "/settings/tokens",
            &[("name", "ci bot")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");
    let html = res.text().await.unwrap();
    let start = html.find("hs_").unwrap();
    let token: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert_eq!(token.len(), 67);
    let api = Api::new(&app, token.clone());
    assert_eq!(api.get("/api/v1/incidents").await.0, StatusCode::OK);

    let (_, list) = responder.get_text("/settings/tokens").await;
    assert!(!list.contains(&token), "the token is never shown again");
    assert!(list.contains("ci bot"));
    let mut conn = app.connection();
    let id = hindsight::auth::tokens::list(&mut conn, None).unwrap()[0]
        .0
        .id;
    drop(conn);
    let res = responder
        .post(
            "/settings/tokens",
            &format!("/settings/tokens/{id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        api.get("/api/v1/incidents").await.0,
        StatusCode::UNAUTHORIZED
    );
}
both_backends!(
    tokens_are_shown_once_and_revocable,
    tokens_are_shown_once_and_revocable
);

/// Tokens are kept and checked only as SHA-256 hashes: the database never holds the secret,
/// and the secret is never compared byte by byte (a lookup by hash leaks nothing about it),
/// so near misses fail like any other wrong token.
async fn api_tokens_are_stored_and_checked_by_hash(app: TestApp) {
    use diesel::prelude::*;
    use hindsight::db::schema::api_tokens;
    let token = app.token(Role::Responder);
    assert_eq!(
        Api::new(&app, token.clone())
            .get("/api/v1/incidents")
            .await
            .0,
        StatusCode::OK
    );
    let mut conn = app.connection();
    let stored: Vec<(String, String, String)> = api_tokens::table
        .select((api_tokens::name, api_tokens::token_hash, api_tokens::prefix))
        .load(&mut conn)
        .unwrap();
    drop(conn);
    assert_eq!(stored.len(), 1);
    let (name, hash, prefix) = &stored[0];
    for column in [name, hash, prefix] {
        assert!(!column.contains(&token), "secret stored: {column}");
    }
    assert_eq!(hash.len(), 64, "hex SHA-256");
    let mut last_flipped = token.clone();
    let last = last_flipped.pop().unwrap();
    last_flipped.push(if last == 'a' { 'b' } else { 'a' });
    for near in [
        last_flipped,
        token[..token.len() - 1].to_string(),
        format!("{token}0"),
        token.to_uppercase(),
        hash.clone(),
    ] {
        let (status, body) = Api::new(&app, near.clone()).get("/api/v1/incidents").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{near}: {body}");
    }
}
both_backends!(
    api_tokens_are_stored_and_checked_by_hash,
    api_tokens_are_stored_and_checked_by_hash
);

/// Every write, as a page form and through the API, refuses a viewer with 403 and changes
/// nothing (the audit log, which every write appends to, stays as it was). The permission
/// is decided once per action, in the domain: these prove both doors lead there.
async fn every_write_refuses_a_viewer(app: TestApp) {
    let admin = Api::new(&app, app.token(Role::Admin));
    let (status, _) = admin
        .post("/api/v1/incidents", serde_json::json!({"title": "Outage"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, entry) = admin
        .post(
            "/api/v1/incidents/INC-1/timeline",
            serde_json::json!({"kind": "note", "body": "first"}),
        )
        .await;
    let (_, cause) = admin
        .post(
            "/api/v1/incidents/INC-1/root-causes",
            serde_json::json!({"kind": "primary", "category": "software", "description": "bug"}),
        )
        .await;
    let (_, task) = admin
        .post(
            "/api/v1/incidents/INC-1/tasks",
            serde_json::json!({"title": "Fix it"}),
        )
        .await;
    let (_, escalation) = admin
        .post(
            "/api/v1/incidents/INC-1/escalations",
            serde_json::json!({"target": "DBA team"}),
        )
        .await;
    let (entry, cause, task, escalation) = (
        entry["id"].to_string(),
        cause["id"].to_string(),
        task["id"].to_string(),
        escalation["id"].to_string(),
    );
    let viewer = Api::new(&app, app.token(Role::Viewer));
    let browser = app.login_as(Role::Viewer).await;
    let audit_before = app.count("audit_log");
    use reqwest::Method;
    use serde_json::json;
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/incidents".to_string(),
            json!({"title": "x"}),
        ),
        (
            Method::PATCH,
            "/api/v1/incidents/INC-1".to_string(),
            json!({"title": "x", "version": 1}),
        ),
        (
            Method::POST,
            "/api/v1/incidents/INC-1/timeline".to_string(),
            json!({"kind": "note", "body": "x"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/incidents/INC-1/timeline/{entry}"),
            json!({"body": "x", "version": 1}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/incidents/INC-1/timeline/{entry}"),
            json!({}),
        ),
        (
            Method::POST,
            "/api/v1/incidents/INC-1/root-causes".to_string(),
            json!({"kind": "primary", "category": "software", "description": "x"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/root-causes/{cause}"),
            json!({"description": "x"}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/root-causes/{cause}"),
            json!({}),
        ),
        (
            Method::POST,
            "/api/v1/incidents/INC-1/tasks".to_string(),
            json!({"title": "x"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/tasks/{task}"),
            json!({"title": "x", "version": 1}),
        ),
        (Method::DELETE, format!("/api/v1/tasks/{task}"), json!({})),
        (
            Method::POST,
            "/api/v1/incidents/INC-1/escalations".to_string(),
            json!({"target": "x"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/escalations/{escalation}"),
            json!({"state": "acknowledged", "version": 1}),
        ),
        (
            Method::PUT,
            "/api/v1/incidents/INC-1/postmortem".to_string(),
            json!({"version": 0, "summary": "x"}),
        ),
    ] {
        let (status, body) = viewer.send(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden", "{method} {path}");
    }

    for (path, fields) in [
        ("/incidents", vec![("title", "x")]),
        (
            "/incidents/INC-1/edit",
            vec![("title", "x"), ("version", "1")],
        ),
        (
            "/incidents/INC-1/status",
            vec![("status", "resolved"), ("version", "1")],
        ),
        (
            "/incidents/INC-1/timeline",
            vec![("kind", "note"), ("body", "x")],
        ),
        (
            &format!("/incidents/INC-1/timeline/{entry}/edit"),
            vec![("kind", "note"), ("body", "x"), ("version", "1")],
        ),
        (&format!("/incidents/INC-1/timeline/{entry}/delete"), vec![]),
        (
            "/incidents/INC-1/root-causes",
            vec![
                ("kind", "primary"),
                ("category", "software"),
                ("description", "x"),
            ],
        ),
        (
            &format!("/root-causes/{cause}/edit"),
            vec![
                ("kind", "primary"),
                ("category", "software"),
                ("description", "x"),
            ],
        ),
        (&format!("/root-causes/{cause}/delete"), vec![]),
        ("/incidents/INC-1/tasks", vec![("title", "x")]),
        (
            &format!("/tasks/{task}/edit"),
            vec![("title", "x"), ("version", "1")],
        ),
        (
            &format!("/tasks/{task}/quick"),
            vec![("status", "done"), ("version", "1")],
        ),
        (&format!("/tasks/{task}/delete"), vec![]),
        ("/incidents/INC-1/escalations", vec![("target", "x")]),
        (
            &format!("/escalations/{escalation}/state"),
            vec![("state", "acknowledged"), ("version", "1")],
        ),
        (
            "/incidents/INC-1/postmortem",
            vec![("summary", "x"), ("version", "0")],
        ),
    ] {
        let res = browser.post("/incidents", path, &fields).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    assert_eq!(app.count("audit_log"), audit_before, "nothing was written");
    // Administration refuses a responder too.
    let responder = app.login_as(Role::Responder).await;
    let audit_before = app.count("audit_log");
    for (path, fields) in [
        (
            "/admin/webhooks",
            vec![
                ("url", "https://example.com/hook"),
                ("event_incident.created", "1"),
            ],
        ),
        (
            "/admin/users/1",
            vec![("role", "admin"), ("display_name", "x")],
        ),
        (
            "/admin/users/1/password",
            vec![("password", "a new long password")],
        ),
        (
            "/admin/users",
            vec![
                ("username", "y"),
                ("role", "admin"),
                ("password", "a new long password"),
            ],
        ),
    ] {
        let res = responder.post("/incidents", path, &fields).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    assert_eq!(app.count("audit_log"), audit_before, "nothing was written");
    let (_, record) = admin.get("/api/v1/incidents/INC-1").await;
    assert_eq!(record["title"], "Outage");
}
both_backends!(every_write_refuses_a_viewer, every_write_refuses_a_viewer);

/// Users change their own password: the current one is required, the new one must pass the
/// policy (length without surrounding spaces, not easy to guess), and their other sessions
/// end while this one stays.
async fn users_change_their_own_password(app: TestApp) {
    let here = app.login_as(Role::Viewer).await;
    let name = here.username.clone();
    let elsewhere = Browser::new(&app);
    assert_eq!(
        elsewhere.login(&name, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, page) = here.get_text("/settings/password").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Current password"));
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        let here = &here;
        async move {
            let res = here
                .post(
                    "/settings/password",
                    "/settings/password",
                    &[
                        ("current_password", current),
                        ("password", new),
                        ("password_confirm", again),
                    ],
                )
                .await;
            let status = res.status();
            (status, res.text().await.unwrap())
        }
    };
    for (current, new, again, needle) in [
        (
            "not my password",
            "plum orchard lantern",
            "plum orchard lantern",
            "current password is wrong",
        ),
        (PASSWORD, "        ", "        ", "not counting spaces"),
        (PASSWORD, "password123", "password123", "too easy to guess"),
        (
            PASSWORD,
            "plum orchard lantern",
            "plum orchard lantrn",
            "differ",
        ),
    ] {
        let (status, page) = change(current, new, again).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{needle}");
        assert!(page.contains(needle), "{needle}: {page}");
    }
    let (status, _) = change(PASSWORD, "plum orchard lantern", "plum orchard lantern").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // This session stays; the other one is signed out; only the new password works.
    assert_eq!(here.get("/incidents").await.status(), StatusCode::OK);
    assert_eq!(
        elsewhere.get("/incidents").await.status(),
        StatusCode::SEE_OTHER
    );
    let fresh = Browser::new(&app);
    assert_eq!(
        fresh.login(&name, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let fresh = Browser::new(&app);
    assert_eq!(
        fresh.login(&name, "plum orchard lantern").await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, audit) = app.login_as(Role::Admin).await.get_text("/audit").await;
    assert!(audit.contains("user.change_password"));
}
both_backends!(
    users_change_their_own_password,
    users_change_their_own_password
);

/// Failed sign-ins hold up the address they come from, not the account: the owner signs in
/// from elsewhere while someone guesses. Concurrent guesses are counted one by one (the
/// count and the check are one write), and behind a trusted proxy the forwarded address is
/// the one that counts (and is audited).
async fn throttling_cannot_lock_the_owner_out(backend: Backend) {
    let Some(storage) = Storage::new(backend) else {
        return;
    };
    let app = start_with(storage, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    });
    app.create_user("sam", Role::Responder);
    let from = |address: &'static str| {
        let app = &app;
        async move {
            let browser = Browser::new(app);
            let (_, page) = browser.get_text("/login").await;
            let csrf = csrf_token(&page).unwrap();
            (browser, csrf, address)
        }
    };
    let (guesser, csrf, address) = from("203.0.113.7").await;
    let guesses = (0..20).map(|_| {
        guesser
            .client
            .post(app.url("/login"))
            .header("x-forwarded-for", address)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", "sam"),
                ("password", "a wrong guess"),
            ])
            .send()
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(guesses)
        .await
        .into_iter()
        .map(|r| r.unwrap().status())
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(checked, 5, "exactly five guesses checked: {statuses:?}");
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(app.count("login_attempts"), 5);
    // The owner, from another address, signs in at once.
    let (owner, csrf, address) = from("198.51.100.9").await;
    let res = owner
        .client
        .post(app.url("/login"))
        .header("x-forwarded-for", address)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "sam"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, audit) = app.login_as(Role::Admin).await.get_text("/audit").await;
    assert!(
        audit.contains("198.51.100.9"),
        "the forwarded address is audited"
    );
    finish().await;
}

#[actix_web::test]
async fn throttling_cannot_lock_the_owner_out_sqlite() {
    throttling_cannot_lock_the_owner_out(Backend::Sqlite).await;
}

#[actix_web::test]
async fn throttling_cannot_lock_the_owner_out_postgres() {
    throttling_cannot_lock_the_owner_out(Backend::Postgres).await;
}

//! Single sign-on against an OpenID provider on loopback (tests/support/oidc_provider.py):
//! the whole code flow without a browser, each failure refused with a clear page and no
//! session, key rotation picked up, accounts made and updated from the claims, password
//! sign-in off except for break-glass admins, and logout at the provider too.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use hindsight::auth::oidc::OidcConfig;
use hindsight::auth::Role;
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

struct Provider {
    child: Child,
    url: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    fn start() -> Option<Provider> {
        let ok = Command::new("python3")
            .args(["-c", "import cryptography"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true: the single sign-on tests need Python's cryptography package"
            );
            eprintln!("skipping: the single sign-on tests need Python's cryptography package");
            return None;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/oidc_provider.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the provider said {line:?}"));
        Some(Provider {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    async fn control(&self, body: serde_json::Value) {
        let res = Client::new()
            .post(format!("{}/_control", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }

    fn config(&self, extra: &[(&str, &str)]) -> OidcConfig {
        let mut vars: HashMap<&str, String> = HashMap::from([
            ("HINDSIGHT_OIDC_ISSUER", self.url.clone()),
            ("HINDSIGHT_OIDC_CLIENT_ID", "hindsight".into()),
            ("HINDSIGHT_OIDC_CLIENT_SECRET", "s3cret".into()),
            ("HINDSIGHT_OIDC_NAME", "Example ID".into()),
        ]);
        for (k, v) in extra {
            vars.insert(k, v.to_string());
        }
        OidcConfig::from_env(&|name| vars.get(name).cloned())
            .unwrap()
            .unwrap()
    }
}

fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_string()
}

/// Runs the flow in `b` up to the callback URL on `app` (not yet called).
async fn to_callback(app: &TestApp, b: &Client) -> String {
    let res = b
        .get(app.url("/auth/oidc/start?next=%2Fincidents"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let at_provider = b.get(location(&res)).send().await.unwrap();
    assert_eq!(at_provider.status(), StatusCode::FOUND);
    // The app's base URL says port 0 (it binds a random one): aim at the real one.
    location(&at_provider).replace("http://127.0.0.1:0", &app.address)
}

/// The callback's answer and whether the browser is signed in afterwards.
async fn finish(app: &TestApp, b: &Client, callback: &str) -> (StatusCode, String, bool) {
    let res = b.get(callback).send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    let signed_in = b.get(app.url("/incidents")).send().await.unwrap().status() == StatusCode::OK;
    (status, text, signed_in)
}

async fn sso_signs_in_and_refuses_what_it_must(app: TestApp) {
    let Some(provider) = Provider::start() else {
        return;
    };
    app.create_user("ann", Role::Responder); // a local "ann": the SSO one becomes ann-2
    let sso = app.second_server_with(|c| {
        c.oidc = Some(provider.config(&[
            ("HINDSIGHT_OIDC_ROLE_CLAIM", "groups"),
            ("HINDSIGHT_OIDC_ROLE_MAP", "sre=responder,ops-admins=admin"),
        ]))
    });
    provider
        .control(json!({"claims": {"sub": "u-1", "preferred_username": "Ann", "name": "Ann Lee", "email": "ann@example.test", "email_verified": true, "groups": ["sre"]}}))
        .await;

    // The login page offers it.
    let (_, page) = Browser::new(&sso).get_text("/login").await;
    assert!(page.contains("Sign in with Example ID"));

    // The whole flow: a session, the page asked for, a new account from the claims.
    let b = browser();
    let callback = to_callback(&sso, &b).await;
    let res = b.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/incidents");
    let (_, page) = (
        (),
        b.get(sso.url("/incidents"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(page.contains("ann-2"), "the new account's name");
    let mut conn = app.connection();
    let user = hindsight::auth::users::find_by_username(&mut conn, "ann-2")
        .unwrap()
        .unwrap();
    assert_eq!(user.display_name, "Ann Lee");
    assert_eq!(user.role, Role::Responder, "sre maps to responder");
    assert_eq!(user.email.as_deref(), Some("ann@example.test"));
    drop(conn);

    // The same callback again: its state is used up.
    let (status, text, _) = finish(&sso, &browser(), &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("unknown or was used already"), "{text}");

    // Each failure: a clear page, and no session.
    let code_of = |url: &str| {
        url::Url::parse(url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .to_string()
    };
    let cases: Vec<(&str, StatusCode, &str)> = vec![
        (
            "wrong_audience",
            StatusCode::UNAUTHORIZED,
            "meant for another application",
        ),
        ("expired", StatusCode::UNAUTHORIZED, "has expired"),
        (
            "unknown_key",
            StatusCode::UNAUTHORIZED,
            "signature does not match",
        ),
        (
            "wrong_issuer",
            StatusCode::UNAUTHORIZED,
            "comes from another issuer",
        ),
    ];
    for (mode, status, says) in cases {
        provider.control(json!({"mode": mode})).await;
        let b = browser();
        let callback = to_callback(&sso, &b).await;
        let (got, text, signed_in) = finish(&sso, &b, &callback).await;
        assert_eq!(got, status, "{mode}");
        assert!(text.contains(says), "{mode}: {text}");
        assert!(text.contains("Nothing was signed in"), "{mode}");
        assert!(!signed_in, "{mode}: no session");
    }
    provider.control(json!({"mode": "ok"})).await;

    // A wrong state; a callback in another browser; a replayed code with a fresh state.
    let b = browser();
    let callback = to_callback(&sso, &b).await;
    let (status, text, signed_in) = finish(
        &sso,
        &b,
        &format!("{}/auth/oidc/callback?code=x&state=forged", sso.address),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("(state)") && !signed_in);
    let (status, text, signed_in) = finish(&sso, &browser(), &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("another browser") && !signed_in, "{text}");
    let used_code = code_of(&callback);
    let b = browser();
    let fresh = to_callback(&sso, &b).await;
    let replay = fresh.replace(&code_of(&fresh), &used_code);
    let (status, text, signed_in) = finish(&sso, &b, &replay).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        text.contains("did not accept the code") && !signed_in,
        "{text}"
    );

    // The provider rotates its key: the next sign-in fetches the new one. Ann's groups
    // changed: her role follows.
    provider
        .control(json!({"rotate": true, "claims": {"sub": "u-1", "preferred_username": "Ann", "name": "Ann L.", "groups": ["ops-admins"]}}))
        .await;
    let b = browser();
    let callback = to_callback(&sso, &b).await;
    let (status, _, signed_in) = finish(&sso, &b, &callback).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "after a key rotation");
    assert!(signed_in);
    let mut conn = app.connection();
    let user = hindsight::auth::users::find_by_username(&mut conn, "ann-2")
        .unwrap()
        .unwrap();
    assert_eq!(
        (user.role, user.display_name.as_str()),
        (Role::Admin, "Ann L.")
    );
    drop(conn);

    // Logout ends the session here and at the provider.
    let page = b
        .get(sso.url("/incidents"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_token(&page).unwrap();
    let res = b
        .post(sso.url("/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let to = location(&res);
    assert!(
        to.starts_with(&format!("{}/logout?id_token_hint=", provider.url)),
        "{to}"
    );
    assert!(to.contains("post_logout_redirect_uri"));
    assert_eq!(
        b.get(sso.url("/incidents")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER,
        "signed out here"
    );

    // An issuer that does not match discovery's: refused before anyone leaves.
    let mismatch = app.second_server_with(|c| {
        let mut config = provider.config(&[]);
        config.issuer = format!("{}/", provider.url);
        c.oidc = Some(config);
    });
    let res = browser()
        .get(mismatch.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert!(res.text().await.unwrap().contains("not available"));
}
both_backends!(
    sso_signs_in_and_refuses_what_it_must,
    sso_signs_in_and_refuses_what_it_must
);

async fn password_sign_in_can_be_turned_off(app: TestApp) {
    let Some(provider) = Provider::start() else {
        return;
    };
    app.create_user("rex", Role::Responder);
    let admin = app.login_as(Role::Admin).await; // made like the CLI's: break-glass
    {
        let mut conn = app.connection();
        let u = hindsight::auth::users::find_by_username(&mut conn, &admin.username)
            .unwrap()
            .unwrap();
        hindsight::auth::users::set_break_glass(&mut conn, u.id).unwrap();
    }
    let sso = app.second_server_with(|c| {
        c.oidc = Some(provider.config(&[]));
        c.password_login = false;
    });
    let (_, page) = Browser::new(&sso).get_text("/login").await;
    assert!(page.contains("Sign in with Example ID") && page.contains("Break-glass"));
    let rex = Browser::new(&sso);
    let res = rex.login("rex", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Password sign-in is off"));
    let res = Browser::new(&sso).login(&admin.username, PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "break-glass admins still can"
    );
    // SSO users get the default role (viewer) without a role claim.
    provider
        .control(
            json!({"claims": {"sub": "u-9", "email": "sam@example.test", "email_verified": true}}),
        )
        .await;
    let b = browser();
    let callback = to_callback(&sso, &b).await;
    let (status, _, signed_in) = finish(&sso, &b, &callback).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(signed_in);
    let mut conn = app.connection();
    let sam = hindsight::auth::users::find_by_username(&mut conn, "sam-example.test")
        .unwrap()
        .expect("username from the e-mail");
    assert_eq!(sam.role, Role::Viewer);
    drop(conn);

    // Break-glass means an admin now: demoted, the CLI-made account signs in no more.
    app.create_user("other-admin", Role::Admin); // hindsight keeps one admin at least
    let demote = {
        let mut conn = app.connection();
        let u = hindsight::auth::users::find_by_username(&mut conn, &admin.username)
            .unwrap()
            .unwrap();
        let changes = hindsight::auth::users::UserChanges {
            role: Role::Viewer,
            disabled: false,
            display_name: u.display_name.clone(),
            email: None,
        };
        hindsight::auth::users::update(
            &mut conn,
            u.id,
            &changes,
            &hindsight::audit::Actor::system("test"),
        )
    };
    demote.expect("demoted");
    let res = Browser::new(&sso).login(&admin.username, PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "no longer break-glass"
    );
}
both_backends!(
    password_sign_in_can_be_turned_off,
    password_sign_in_can_be_turned_off
);

/// Names and claims from the provider: a username never takes a team's name (escalations
/// to the team would reach only that user), an e-mail the provider has not verified is not
/// taken, and claims with control characters are refused like form fields.
async fn sso_names_and_claims_are_checked(app: TestApp) {
    let Some(provider) = Provider::start() else {
        return;
    };
    let admin = Api::new(&app, app.token(Role::Admin));
    let (status, _) = admin
        .post("/api/v1/teams", json!({"name": "DBA", "members": []}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let sso = app.second_server_with(|c| c.oidc = Some(provider.config(&[])));
    provider
        .control(json!({"claims": {"sub": "u-7", "preferred_username": "DBA", "email": "boss@example.test", "email_verified": false}}))
        .await;
    let b = browser();
    let callback = to_callback(&sso, &b).await;
    let (status, _, signed_in) = finish(&sso, &b, &callback).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(signed_in);
    {
        let mut conn = app.connection();
        assert!(hindsight::auth::users::find_by_username(&mut conn, "dba")
            .unwrap()
            .is_none());
        let user = hindsight::auth::users::find_by_username(&mut conn, "dba-2")
            .unwrap()
            .expect("made unique against the team");
        assert_eq!(user.email, None, "an unverified address is not taken");
    }
    // Local accounts and teams are refused the other's names too.
    let (status, body) = admin
        .post("/api/v1/teams", json!({"name": "dba-2", "members": []}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "name");
    {
        let mut conn = app.connection();
        let new = hindsight::auth::users::NewUser::new("Dba", "", Role::Viewer, PASSWORD).unwrap();
        let refused =
            hindsight::auth::users::create(&mut conn, &new, &hindsight::audit::Actor::system("t"));
        assert!(
            matches!(refused, Err(hindsight::error::AppError::Invalid { ref field, .. }) if field == "username"),
            "{refused:?}"
        );
    }

    // A control character in a claim: refused, nothing made.
    let users_before = app.count("users");
    provider
        .control(json!({"claims": {"sub": "u-8", "preferred_username": "bel", "name": "Bel\u{7} Ringer"}}))
        .await;
    let b = browser();
    let callback = to_callback(&sso, &b).await;
    let (status, text, signed_in) = finish(&sso, &b, &callback).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("control character"), "{text}");
    assert!(!signed_in);
    assert_eq!(app.count("users"), users_before);
}
both_backends!(
    sso_names_and_claims_are_checked,
    sso_names_and_claims_are_checked
);

//! The service catalog: admins keep it (API, pages, CLI), everyone reads it; a free-text
//! service an incident names joins it bare; a service's page and counts show only what
//! the reader may see; similar incidents are offered for linking.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

/// Restricts `key` to the user `mem`.
async fn restrict(api: &Api, key: &str) {
    let (status, body) = api
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/incidents/{key}/access"),
            json!({"restricted": true, "users": ["mem"], "teams": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn catalog_is_kept_by_admins_and_read_by_all(app: TestApp) {
    let admin = Api::new(&app, app.token(Role::Admin));
    let responder = Api::new(&app, app.token(Role::Responder));
    let viewer = Api::new(&app, app.token(Role::Viewer));
    admin
        .made("/api/v1/teams", json!({"name": "Payments on-call"}))
        .await;
    let made = admin
        .made(
            "/api/v1/services",
            json!({"name": "card vault", "team": "payments ON-CALL", "tier": 1,
                   "runbook_url": "https://wiki.example.com/vault", "description": "Tokenised cards.",
                   "public": true}),
        )
        .await;
    assert_eq!(made["team"], "Payments on-call");
    assert_eq!(made["tier"], 1);
    assert_eq!(made["incidents"], 0);
    // Only admins change it; the 403 says so and nothing changes.
    for (api, role) in [(&responder, "responder"), (&viewer, "viewer")] {
        let (status, body) = api
            .post("/api/v1/services", json!({"name": "ledger"}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
        let (status, _) = api
            .patch("/api/v1/services/card%20vault", json!({"tier": 2}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
        let (status, list) = api.get("/api/v1/services").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["items"][0]["name"], "card vault", "{role} reads it");
    }
    // Mistakes: what and where, nothing changed.
    for (body, field, says) in [
        (json!({"tier": 7}), "tier", "1 to 4"),
        (
            json!({"runbook_url": "javascript:alert(1)"}),
            "runbook_url",
            "http",
        ),
        (json!({"team": "nobody"}), "team", "no team `nobody`"),
        (json!({"name": " "}), "name", "name"),
        (json!({"name": "x".repeat(101)}), "name", "100"),
    ] {
        let (status, err) = admin.patch("/api/v1/services/card%20vault", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["error"]["field"], field, "{err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
    let (_, same) = admin.get("/api/v1/services/CARD%20VAULT").await;
    assert_eq!(same["tier"], 1, "any case finds it; unchanged: {same}");
    // A free-text service on an incident joins the catalog, bare.
    admin
        .made(
            "/api/v1/incidents",
            json!({"title": "Ledger lag", "severity": "SEV3", "services": ["ledger"]}),
        )
        .await;
    let (_, ledger) = admin.get("/api/v1/services/ledger").await;
    assert_eq!(
        (&ledger["team"], &ledger["tier"], &ledger["incidents"]),
        (&json!(null), &json!(null), &json!(1))
    );
    let (status, err) = admin
        .post("/api/v1/services", json!({"name": "Ledger"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already a service"));
    // Clearing with null; renaming shows on the incident.
    let cleared = admin
        .changed(
            "/api/v1/services/card%20vault",
            json!({"team": null, "tier": null}),
        )
        .await;
    assert_eq!(
        (&cleared["team"], &cleared["tier"]),
        (&json!(null), &json!(null))
    );
    admin
        .changed("/api/v1/services/ledger", json!({"name": "general ledger"}))
        .await;
    let (_, incident) = admin.get("/api/v1/incidents/INC-1").await;
    assert_eq!(incident["services"], json!(["general ledger"]));
    // Named by an incident: it stays (409); unused: removed.
    let (status, err) = admin
        .send(
            reqwest::Method::DELETE,
            "/api/v1/services/general%20ledger",
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    let (status, _) = admin
        .send(
            reqwest::Method::DELETE,
            "/api/v1/services/card%20vault",
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = admin.get("/api/v1/services/card%20vault").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.count_where("audit_log", "action LIKE 'service.%'"),
        4,
        "create, two changes, delete"
    );
}
both_backends!(
    catalog_is_kept_by_admins_and_read_by_all,
    catalog_is_kept_by_admins_and_read_by_all
);

/// The pages: an admin adds and edits from `/services` and the service's page (CSRF like
/// every form), a responder may not; the page lists only the incidents the reader may see.
async fn service_pages_show_what_the_reader_may_see(app: TestApp) {
    app.create_user("mem", Role::Responder);
    let admin_api = Api::new(&app, app.token(Role::Admin));
    for (title, impact) in [
        ("Card vault timeouts", "Checkout slow"),
        ("Card vault secret rotation", "Quiet"),
    ] {
        admin_api
            .made(
                "/api/v1/incidents",
                json!({"title": title, "impact": impact, "severity": "SEV2", "services": ["card vault"]}),
            )
            .await;
    }
    restrict(&admin_api, "INC-2").await;
    let admin = app.login_as(Role::Admin).await;
    admin
        .submitted(
            "/services/card%20vault",
            "/services/card%20vault",
            &[
                ("name", "card vault"),
                ("team", ""),
                ("tier", "2"),
                ("runbook_url", "https://wiki.example.com/vault"),
                ("description", "Keeps <cards> & tokens."),
                ("public", "on"),
            ],
        )
        .await;
    let (_, page) = admin.get_text("/services/card%20vault").await;
    assert!(page.contains("Tier 2"), "{page}");
    assert!(
        page.contains("Keeps &#60;cards&#62; &#38; tokens.")
            || page.contains("Keeps &lt;cards&gt; &amp; tokens."),
        "escaped: {page}"
    );
    assert!(page.contains("INC-2"), "admins see the restricted one");
    // A responder who is not a member sees one incident, and no way to edit.
    let outsider = app.login_as(Role::Responder).await;
    let (status, page) = outsider.get_text("/services/card%20vault").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Card vault timeouts"));
    assert!(
        !page.contains("rotation") && !page.contains("INC-2"),
        "{page}"
    );
    assert!(!page.contains("Catalog entry"));
    let (_, list) = outsider.get_text("/services").await;
    assert!(list.contains("card vault"), "{list}");
    let api = Api::new(&app, app.token(Role::Responder));
    let (_, json) = api.get("/api/v1/services/card%20vault").await;
    assert_eq!(json["incidents"], 1, "the restricted one is not counted");
    let res = outsider
        .post(
            "/services",
            "/services",
            &[("name", "ledger"), ("tier", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A form without its CSRF token changes nothing.
    let res = admin
        .post_raw("/services", &[("name", "ledger"), ("tier", "")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A mistake comes back on the page, with what was typed.
    let res = admin
        .post(
            "/services",
            "/services",
            &[("name", "ledger"), ("tier", "9"), ("runbook_url", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("tier must be 1 to 4"), "{page}");
    assert!(page.contains("value=\"ledger\""), "{page}");
    assert_eq!(app.count_where("services", "name = 'ledger'"), 0);
    // Removing one incidents name is refused on its page, which says why.
    let res = admin
        .post(
            "/services/card%20vault",
            "/services/card%20vault/delete",
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("stays in the catalog"));
    // The incident page links its services to their pages.
    let (_, incident) = outsider.get_text("/incidents/INC-1").await;
    assert!(
        incident.contains("href=\"/services/card%20vault\""),
        "{incident}"
    );
}
both_backends!(
    service_pages_show_what_the_reader_may_see,
    service_pages_show_what_the_reader_may_see
);

/// A new incident's page offers similar ones to link: same service and cause first, then
/// alike titles; never a restricted one the reader may not see; one click links it.
async fn similar_incidents_are_offered_for_linking(app: TestApp) {
    app.create_user("mem", Role::Responder);
    let api = Api::new(&app, app.token(Role::Admin));
    for (title, service) in [
        ("Acquirer timeouts on card payments", "payments"),
        ("Search index rebuild stuck", "search"),
        ("Acquirer timeouts at the gateway", "gateway"),
        ("Ledger drift", "payments"),
    ] {
        api.made(
            "/api/v1/incidents",
            json!({"title": title, "severity": "SEV2", "services": [service]}),
        )
        .await;
    }
    for key in ["INC-4"] {
        api.made(
            &format!("/api/v1/incidents/{key}/root-causes"),
            json!({"kind": "primary", "category": "capacity", "description": "Full."}),
        )
        .await;
    }
    restrict(&api, "INC-3").await;
    api.made(
        "/api/v1/incidents",
        json!({"title": "Acquirer timeouts again", "severity": "SEV2", "services": ["payments"]}),
    )
    .await;
    api.made(
        "/api/v1/incidents/INC-5/root-causes",
        json!({"kind": "primary", "category": "capacity", "description": "Full again."}),
    )
    .await;
    // A member sees the restricted one offered; what was worked out for their view is kept
    // a minute, and still never shows it to someone else.
    let member = Browser::new(&app);
    member.login("mem", PASSWORD).await;
    let (_, page) = member.get_text("/incidents/INC-5").await;
    let offered = &page[page.find("Similar incidents").expect("offered")..];
    assert!(offered[..offered.find("</ul>").unwrap()].contains(">INC-3<"));
    let browser = app.login_as(Role::Responder).await;
    let (_, page) = browser.get_text("/incidents/INC-5").await;
    let similar = &page[page.find("Similar incidents").expect("offered")..];
    let similar = &similar[..similar.find("</ul>").unwrap()];
    let order: Vec<usize> = ["INC-4", "INC-1"]
        .iter()
        .map(|k| {
            similar
                .find(&format!(">{k}<"))
                .unwrap_or_else(|| panic!("{k}: {similar}"))
        })
        .collect();
    assert!(
        order[0] < order[1],
        "same service and cause first: {similar}"
    );
    assert!(similar.contains("same service and cause"));
    assert!(!similar.contains("INC-2"), "nothing alike: {similar}");
    assert!(!similar.contains("INC-3"), "restricted: {similar}");
    browser
        .submitted(
            "/incidents/INC-5",
            "/incidents/INC-5/links",
            &[("kind", "related"), ("other", "INC-1")],
        )
        .await;
    let (_, linked) = api.get("/api/v1/incidents/INC-5").await;
    assert_eq!(linked["links"][0]["other"], "INC-1", "{linked}");
    let (_, page) = browser.get_text("/incidents/INC-5").await;
    assert!(
        !page.contains("Similar incidents"),
        "linked: no more offers"
    );
    // A viewer, who cannot link, is offered nothing.
    let viewer = app.login_as(Role::Viewer).await;
    let (_, page) = viewer.get_text("/incidents/INC-1").await;
    assert!(!page.contains("Similar incidents"));
}
both_backends!(
    similar_incidents_are_offered_for_linking,
    similar_incidents_are_offered_for_linking
);

//! Status page subscribers through a real SMTP server: double opt-in (nothing but the
//! confirmation before it), news of the components chosen, one-click unsubscribe by the
//! RFC 8058 POST, the same answer for every address, throttling; maintenance steps told
//! once each with a controllable clock; the `status.updated` webhook; a published
//! postmortem's summary on the page once an admin marks it public.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;
use crate::mail::SmtpSink;

const BASE: &str = "https://status.example.test";

/// The subscription token a mail's `List-Unsubscribe` header carries.
fn token_in(mail: &str) -> String {
    let unfolded = mail.replace("\r\n ", " ").replace("\r\n\t", " ");
    let header = unfolded
        .lines()
        .find(|l| l.starts_with("List-Unsubscribe: "))
        .unwrap_or_else(|| panic!("no List-Unsubscribe in {mail}"));
    let marker = format!("<{BASE}/status/unsubscribe?token=");
    let start = header.find(&marker).expect("the unsubscribe URL") + marker.len();
    header[start..].trim_end_matches('>').to_string()
}

fn announce(app: &TestApp) -> usize {
    let mut conn = app.connection();
    hindsight::status::announce::round(&mut conn, hindsight::time::now()).unwrap()
}

async fn set_up_page(admin: &Api) {
    for name in ["payments", "search"] {
        admin.made("/api/v1/services", json!({"name": name})).await;
    }
    admin
        .changed(
            "/api/v1/status",
            json!({"enabled": true, "title": "Acme status", "components": [{"service": "payments", "state": null}, {"service": "search", "state": null}]}),
        )
        .await;
}

async fn subscribe(visitor: &Browser, email: &str, components: &[&str]) -> (StatusCode, String) {
    let mut fields = vec![("email", email)];
    fields.extend(components.iter().map(|c| ("components", *c)));
    let res = visitor
        .post("/status/subscribe", "/status/subscribe", &fields)
        .await;
    (res.status(), res.text().await.unwrap())
}

async fn confirm(visitor: &Browser, token: &str) {
    let page = format!("/status/confirm?token={token}");
    let (status, html) = visitor.get_text(&page).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Confirm your subscription"), "{html}");
    let res = visitor
        .post(&page, "/status/confirm", &[("token", token)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("You are subscribed"));
}

async fn subscribers_confirm_receive_and_unsubscribe(app: TestApp) {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let a = app.second_server_with(|c| {
        c.mail = Some(sink.config());
        c.base_url = BASE.into();
    });
    let admin = Api::new(&a, app.token(Role::Admin));
    let responder = Api::new(&a, app.token(Role::Responder));
    set_up_page(&admin).await;
    let visitor = Browser::new(&a);
    let (_, status_page) = visitor.get_text("/status").await;
    assert!(status_page.contains("href=\"/status/subscribe\""));

    // Forms need their CSRF token; bad input says what and where, and keeps what was typed.
    let res = visitor
        .post_raw("/status/subscribe", &[("email", "x@example.test")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (status, html) = subscribe(&visitor, "not an address", &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("is not an e-mail address"), "{html}");
    let (status, html) = subscribe(&visitor, "x@example.test", &["nope"]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("There is no component `nope`"), "{html}");
    assert!(html.contains("value=\"x@example.test\""), "{html}");

    // Alice wants payments; Bob the whole page.
    let (status, asked) = subscribe(&visitor, "Alice@Example.test", &["payments"]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(asked.contains("Check your inbox"), "{asked}");
    let bob_visitor = Browser::new(&a);
    subscribe(&bob_visitor, "bob@example.test", &[]).await;
    let mails = sink.exactly(&app, 2).await;
    let to = |who: &str| {
        mails
            .iter()
            .find(|m| m.starts_with(&format!("X-Rcpt-To: {who}\r\n")))
            .unwrap_or_else(|| panic!("no mail to {who}: {mails:#?}"))
            .clone()
    };
    let (alice_mail, bob_mail) = (to("alice@example.test"), to("bob@example.test"));
    assert!(alice_mail.contains("Subject: Confirm your subscription to Acme status"));
    assert!(alice_mail.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    let (alice, bob) = (token_in(&alice_mail), token_in(&bob_mail));

    // Nothing but the confirmation before it: a public update now reaches no one.
    responder
        .made(
            "/api/v1/incidents",
            json!({"title": "Card payments failing", "severity": "SEV1", "services": ["payments"]}),
        )
        .await;
    responder
        .made(
            "/api/v1/incidents/INC-1/updates",
            json!({"audience": "public", "impact": "Some card payments fail."}),
        )
        .await;
    assert_eq!(announce(&app), 1);
    assert_eq!(app.count("mail_outbox"), 2, "no mail before confirmation");

    // A wrong or used-up link says so; the right one confirms after a press of a button.
    let (status, _) = visitor.get_text("/status/confirm?token=deadbeef").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    confirm(&visitor, &alice).await;
    confirm(&bob_visitor, &bob).await;

    // A public update on payments reaches both; an internal one no one; one on search only
    // Bob (the whole page); each is told once however many rounds run.
    responder
        .made(
            "/api/v1/incidents/INC-1/updates",
            json!({"audience": "public", "state": "identified", "impact": "Card payments fail <in EU>.", "actions": "Failing over."}),
        )
        .await;
    responder
        .made(
            "/api/v1/incidents/INC-1/updates",
            json!({"audience": "internal", "impact": "INTERNAL-ONLY the DBA dropped an index"}),
        )
        .await;
    responder
        .made(
            "/api/v1/incidents",
            json!({"title": "Search slow", "severity": "SEV3", "services": ["search"]}),
        )
        .await;
    responder
        .made(
            "/api/v1/incidents/INC-2/updates",
            json!({"audience": "public", "impact": "Search is slow."}),
        )
        .await;
    announce(&app);
    assert_eq!(announce(&app), 0, "told once");
    let mails = sink.exactly(&app, 5).await;
    let news: Vec<&String> = mails[2..].iter().collect();
    assert!(news.iter().all(|m| !m.contains("INTERNAL-ONLY")));
    let to_alice: Vec<&&String> = news
        .iter()
        .filter(|m| m.starts_with("X-Rcpt-To: alice@example.test"))
        .collect();
    assert_eq!(to_alice.len(), 1, "{news:#?}");
    assert!(to_alice[0].contains("Subject: [Acme status] Card payments failing: identified"));
    assert!(to_alice[0].contains("Failing over."));
    assert!(
        to_alice[0].contains("Card payments fail &#60;in EU&#62;."),
        "escaped in HTML"
    );
    assert_eq!(token_in(to_alice[0]), alice);
    assert_eq!(
        news.iter()
            .filter(|m| m.starts_with("X-Rcpt-To: bob@example.test"))
            .count(),
        2
    );

    // The same answer whatever the address: confirmed, waiting, or new.
    let stranger = Browser::new(&a);
    let (_, known) = subscribe(&stranger, "alice@example.test", &[]).await;
    let (_, unknown) = subscribe(&stranger, "carol@example.test", &[]).await;
    assert_eq!(known, unknown);
    // A confirmed subscription is not changed by someone who only knows the address.
    let mut conn = app.connection();
    let alice_components = hindsight::status::subscribers::subscription(&mut conn, &alice)
        .unwrap()
        .unwrap()
        .components;
    assert_eq!(alice_components, ["payments"]);
    drop(conn);
    // Alice was mailed minutes ago: no reminder yet; Carol gets her confirmation.
    sink.exactly(&app, 6).await;

    // Choosing components with the token from a mail.
    let manage = format!("/status/manage?token={alice}");
    let res = visitor
        .post(
            &manage,
            "/status/manage",
            &[("token", &alice), ("components", "search")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Saved."));

    // One click, as a mail client does it: no cookies, no CSRF token, the token in the URL.
    let res = reqwest::Client::new()
        .post(a.url(&format!("/status/unsubscribe?token={alice}")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.count_where("status_subscribers", "email = 'alice@example.test'"),
        0
    );
    // Again, or with a made-up token: the same page.
    let res = reqwest::Client::new()
        .post(a.url("/status/unsubscribe?token=feedface"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    responder
        .made(
            "/api/v1/incidents/INC-2/updates",
            json!({"audience": "public", "impact": "Search is still slow."}),
        )
        .await;
    announce(&app);
    let mails = sink.exactly(&app, 7).await;
    assert!(mails[6].starts_with("X-Rcpt-To: bob@example.test"));

    // Subscribe requests are throttled per client.
    let mut refused = None;
    for i in 0..12 {
        let (status, html) = subscribe(&stranger, &format!("s{i}@example.test"), &[]).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(html);
            break;
        }
    }
    let refused = refused.expect("the client is throttled");
    assert!(refused.contains("Try again"), "{refused}");
}
both_backends!(
    subscribers_confirm_receive_and_unsubscribe,
    subscribers_confirm_receive_and_unsubscribe
);

async fn maintenance_steps_and_status_hooks_are_told_once(app: TestApp) {
    use chrono::Duration;
    use hindsight::status::{announce::round, subscribers};
    let admin = Api::new(&app, app.token(Role::Admin));
    let mut conn = app.connection();
    hindsight::webhooks::create(
        &mut conn,
        "https://hooks.example.test/status",
        &["status.updated".to_string()],
        hindsight::webhooks::HookFormat::Hindsight,
        false,
        &hindsight::audit::Actor::system("test"),
    )
    .unwrap();
    drop(conn);
    set_up_page(&admin).await;
    let mut conn = app.connection();
    subscribers::request(&mut conn, "ops@example.test", &[], "10.0.0.1", "Acme").unwrap();
    let token: String = {
        use diesel::prelude::*;
        use hindsight::db::schema::status_subscribers;
        status_subscribers::table
            .select(status_subscribers::token)
            .first(&mut conn)
            .unwrap()
    };
    subscribers::confirm(&mut conn, &token).unwrap().unwrap();
    drop(conn);
    let now = hindsight::time::now();
    let starts = now + Duration::hours(1);
    let ends = starts + Duration::hours(2);
    admin
        .made(
            "/api/v1/status/maintenances",
            json!({"title": "Database upgrade", "components": ["payments"],
                   "starts_at": hindsight::time::rfc3339(starts), "ends_at": hindsight::time::rfc3339(ends)}),
        )
        .await;
    let mails = |step: &str| {
        app.count_where(
            "mail_outbox",
            &format!(
                "subject LIKE '%{step}: Database upgrade' AND to_address = 'ops@example.test'"
            ),
        )
    };
    let hooks = || {
        app.count_where(
            "webhook_deliveries",
            "event = 'status.updated' AND payload LIKE '%\"maintenance\"%'",
        )
    };
    let mut conn = app.connection();
    round(&mut conn, now).unwrap();
    round(&mut conn, now).unwrap();
    assert_eq!(mails("Scheduled maintenance"), 1);
    round(&mut conn, starts + Duration::minutes(1)).unwrap();
    round(&mut conn, starts + Duration::minutes(2)).unwrap();
    assert_eq!(mails("Maintenance in progress"), 1);
    round(&mut conn, ends + Duration::minutes(1)).unwrap();
    // A late round (another server's clock behind) never goes back a step.
    round(&mut conn, starts + Duration::minutes(1)).unwrap();
    round(&mut conn, now).unwrap();
    assert_eq!(mails("Maintenance completed"), 1);
    assert_eq!(mails("Scheduled maintenance"), 1);
    assert_eq!(mails("Maintenance in progress"), 1);
    assert_eq!(hooks(), 3);
    // Each subscriber mail carries its one-click unsubscribe token.
    assert_eq!(
        app.count_where(
            "mail_outbox",
            &format!("to_address = 'ops@example.test' AND subscriber_token = '{token}'"),
        ),
        4,
        "the confirmation and three steps"
    );
}
both_backends!(
    maintenance_steps_and_status_hooks_are_told_once,
    maintenance_steps_and_status_hooks_are_told_once
);

async fn a_public_postmortem_summary_shows_on_the_status_page(app: TestApp) {
    let admin = Api::new(&app, app.token(Role::Admin));
    let responder = Api::new(&app, app.token(Role::Responder));
    set_up_page(&admin).await;
    responder
        .made(
            "/api/v1/incidents",
            json!({"title": "Card payments failing", "severity": "SEV2", "services": ["payments"]}),
        )
        .await;
    responder
        .made(
            "/api/v1/incidents/INC-1/updates",
            json!({"audience": "public", "impact": "Some card payments fail."}),
        )
        .await;
    let (_, incident) = responder.get("/api/v1/incidents/INC-1").await;
    responder
        .changed(
            "/api/v1/incidents/INC-1",
            json!({"version": incident["version"], "status": "resolved"}),
        )
        .await;
    let put = |body: serde_json::Value| {
        let responder = &responder;
        async move {
            responder
                .send(
                    reqwest::Method::PUT,
                    "/api/v1/incidents/INC-1/postmortem",
                    body,
                )
                .await
        }
    };
    let (status, _) = put(json!({"version": 0, "summary": "A certificate **expired**; <script>x()</script> renewals are now automatic."})).await;
    assert_eq!(status, StatusCode::OK);
    // Not published yet: 422 on the field; a responder may not make it public at all.
    let (status, err) = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/incidents/INC-1/postmortem",
            json!({"version": 1, "summary": "A certificate **expired**; <script>x()</script> renewals are now automatic.", "public": true}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "public");
    app.create_user("rev", Role::Responder);
    let review = "/api/v1/incidents/INC-1/postmortem/review";
    for (api, body) in [
        (
            &responder,
            json!({"action": "request", "reviewers": ["rev"]}),
        ),
        (
            &Api::new(&app, app.token_of("rev")),
            json!({"action": "approve"}),
        ),
    ] {
        let (status, answer) = api.post(review, body).await;
        assert!(status.is_success(), "{answer}");
    }
    let (_, pm) = responder.post(review, json!({"action": "publish"})).await;
    assert_eq!(pm["review_state"], "published");
    let summary = pm["summary"].clone();
    let (status, _) =
        put(json!({"version": pm["version"], "summary": summary, "public": true})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
    let before = reqwest::get(app.url("/status.json")).await.unwrap();
    let before: serde_json::Value = before.json().await.unwrap();
    assert_eq!(
        before["past_incidents"][0]["postmortem"],
        serde_json::Value::Null
    );
    let (status, body) = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/incidents/INC-1/postmortem",
            json!({"version": pm["version"], "summary": summary, "public": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["public"], true);
    let page = reqwest::get(app.url("/status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("A certificate <strong>expired</strong>"),
        "{page}"
    );
    assert!(!page.contains("<script>x()"), "sanitized");
    let after: serde_json::Value = reqwest::get(app.url("/status.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(after["past_incidents"][0]["postmortem"]
        .as_str()
        .unwrap()
        .starts_with("A certificate"));
    // Made restricted later: gone from the page with the incident.
    let (status, body) = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/incidents/INC-1/access",
            json!({"restricted": true, "users": [], "teams": []}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let page = reqwest::get(app.url("/status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("A certificate"), "{page}");
}
both_backends!(
    a_public_postmortem_summary_shows_on_the_status_page,
    a_public_postmortem_summary_shows_on_the_status_page
);

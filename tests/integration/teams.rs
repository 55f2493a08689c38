//! Teams (admin page, API, CLI; who may change them) and what reaches their members:
//! escalations and tasks given to a team, overdue tasks, opt-in SEV1/SEV2 declarations,
//! and each person's choice of inbox, e-mail, both or neither.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn user(app: &TestApp, name: &str) -> Browser {
    app.create_user(name, Role::Responder);
    let b = Browser::new(app);
    b.login(name, PASSWORD).await;
    b
}

/// A user's inbox messages over the API, newest first.
async fn inbox(app: &TestApp, name: &str) -> Vec<String> {
    let mut conn = app.connection();
    let u = hindsight::auth::users::find_by_username(&mut conn, name)
        .unwrap()
        .unwrap();
    let (items, _) =
        hindsight::notifications::inbox(&mut conn, hindsight::access::Reader::of(&u), 50).unwrap();
    items.into_iter().map(|n| n.message).collect()
}

async fn teams_are_kept_by_admins(app: TestApp) {
    for name in ["ann", "rex", "otto"] {
        app.create_user(name, Role::Responder);
    }
    let admin = app.login_as(Role::Admin).await;
    let res = admin
        .post(
            "/admin/teams",
            "/admin/teams",
            &[("name", "DBA"), ("members", "ann, rex")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.get_text("/admin/teams").await;
    assert!(page.contains("value=\"DBA\"") && page.contains("value=\"ann, rex\""));
    // The same name in another case, or an unknown member: 422 naming it, nothing saved.
    let res = admin
        .post(
            "/admin/teams",
            "/admin/teams",
            &[("name", "dba"), ("members", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("already a team called"));
    let res = admin
        .post(
            "/admin/teams",
            "/admin/teams",
            &[("name", "Network"), ("members", "nobody")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("There is no user `nobody`"));
    assert_eq!(app.count("teams"), 1);

    // Responders and viewers may see teams over the API, not change them.
    for role in [Role::Responder, Role::Viewer] {
        let b = app.login_as(role).await;
        assert_eq!(b.get("/admin/teams").await.status(), StatusCode::FORBIDDEN);
        let api = Api::new(&app, app.token(role));
        let (status, body) = api.get("/api/v1/teams").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["items"][0]["members"], json!(["ann", "rex"]));
        let (status, _) = api
            .post("/api/v1/teams", json!({"name": "SRE", "members": []}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let api = Api::new(&app, app.token(Role::Admin));
    let (status, sre) = api
        .post("/api/v1/teams", json!({"name": "SRE", "members": ["otto"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sre}");
    let path = format!("/api/v1/teams/{}", sre["id"]);
    let (status, body) = api.patch(&path, json!({"members": ["otto", "ann"]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["members"], json!(["ann", "otto"]));
    let (status, body) = api.patch(&path, json!({"members": ["ghost"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "members");
    let (status, _) = api
        .send(reqwest::Method::DELETE, &path, serde_json::Value::Null)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.count("teams"), 1);
    assert!(app.count("audit_log") >= 4, "changes are audited");

    // The task form and the board suggest teams.
    let responder = app.login_as(Role::Responder).await;
    Api::new(&app, app.token(Role::Responder))
        .made("/api/v1/incidents", json!({"title": "Checkout errors"}))
        .await;
    let (_, page) = responder.get_text("/incidents/INC-1/tasks/new").await;
    assert!(page.contains("<option value=\"DBA\">"));
    let (_, page) = responder.get_text("/tasks").await;
    assert!(page.contains("<option value=\"DBA\">"));
}
both_backends!(teams_are_kept_by_admins, teams_are_kept_by_admins);

async fn team_members_hear_what_is_theirs(app: TestApp) {
    for name in ["ann", "rex", "otto", "sam"] {
        user(&app, name).await;
    }
    let admin = Api::new(&app, app.token(Role::Admin));
    admin
        .made(
            "/api/v1/teams",
            json!({"name": "DBA", "members": ["ann", "rex"]}),
        )
        .await;
    // Rex acts: he hears nothing of his own doing; Ann hears as a member of DBA.
    let rex = Browser::new(&app);
    rex.login("rex", PASSWORD).await;
    let api = Api::new(&app, app.token_of("rex"));
    api.made("/api/v1/incidents", json!({"title": "Checkout errors"}))
        .await;
    let (status, _) = api
        .post(
            "/api/v1/incidents/INC-1/escalations",
            json!({"targets": ["dba"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        inbox(&app, "ann").await,
        ["rex escalated INC-1 Checkout errors to your team dba."]
    );
    assert!(inbox(&app, "rex").await.is_empty() && inbox(&app, "otto").await.is_empty());

    // A task for Otto with team DBA: Otto as owner, Ann as the team (Rex gave it).
    let (status, task) = api
        .post(
            "/api/v1/incidents/INC-1/tasks",
            json!({"title": "Add a replica lag alert", "owner": "otto", "team": "DBA", "due_on": "2020-01-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    assert_eq!(
        inbox(&app, "otto").await,
        ["rex gave you a task on INC-1 Checkout errors: Add a replica lag alert"]
    );
    assert_eq!(
        inbox(&app, "ann").await[0],
        "rex gave your team DBA a task on INC-1 Checkout errors: Add a replica lag alert"
    );

    // Overdue: the owner and the team hear it once (the scan runs again: nothing new).
    for _ in 0..2 {
        let mut conn = app.connection();
        hindsight::webhooks::worker::queue_overdue(&mut conn).unwrap();
    }
    let overdue = |m: &Vec<String>| m.iter().filter(|s| s.starts_with("Overdue since")).count();
    assert_eq!(overdue(&inbox(&app, "otto").await), 1);
    assert_eq!(overdue(&inbox(&app, "ann").await), 1);
    assert_eq!(
        overdue(&inbox(&app, "rex").await),
        1,
        "rex is in the team too"
    );
    assert_eq!(overdue(&inbox(&app, "sam").await), 0);
    assert_eq!(
        inbox(&app, "otto").await[0],
        "Overdue since 2020-01-01: Add a replica lag alert (INC-1 Checkout errors)"
    );

    // SEV1/SEV2 declarations are opt-in: Sam turns them on over the API, Otto turns
    // escalations off on the page.
    let sam = Api::new(&app, app.token_of("sam"));
    let (status, me) = sam.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["notification_preferences"]["severe_declared"], "none");
    assert_eq!(me["notification_preferences"]["escalated"], "in_app");
    let (status, body) = sam
        .patch(
            "/api/v1/me",
            json!({"notification_preferences": {"severe_declared": "loud"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "severe_declared");
    let (status, body) = sam
        .patch("/api/v1/me", json!({"email": "not an address"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "email");
    let (status, me) = sam
        .patch(
            "/api/v1/me",
            json!({"email": "sam@example.test", "notification_preferences": {"severe_declared": "in_app"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "sam@example.test");
    let otto = Browser::new(&app);
    otto.login("otto", PASSWORD).await;
    let res = otto
        .post(
            "/settings/notifications",
            "/settings/notifications",
            &[
                ("email", ""),
                ("escalated", "none"),
                ("task_assigned", "in_app"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = otto.get_text("/settings/notifications").await;
    assert!(page.contains("<option value=\"none\" selected>Off</option>"));

    api.made(
        "/api/v1/incidents",
        json!({"title": "Payments down", "severity": "SEV1"}),
    )
    .await;
    api.made(
        "/api/v1/incidents",
        json!({"title": "Slow search", "severity": "SEV3"}),
    )
    .await;
    api.made(
        "/api/v1/incidents/INC-1/escalations",
        json!({"targets": ["otto"]}),
    )
    .await;
    let sam_inbox = inbox(&app, "sam").await;
    assert_eq!(sam_inbox, ["rex declared SEV1 INC-2: Payments down"]);
    assert!(
        !inbox(&app, "otto")
            .await
            .iter()
            .any(|m| m.contains("escalated")),
        "otto turned escalations off"
    );
    assert!(!inbox(&app, "ann")
        .await
        .iter()
        .any(|m| m.contains("declared")));
    assert_eq!(app.count("mail_outbox"), 0, "nobody chose e-mail");

    // The daily digest: Ann asks for it; one message lists her team's overdue task, and a
    // second scan the same day queues nothing more.
    {
        let mut conn = app.connection();
        let ann = hindsight::auth::users::find_by_username(&mut conn, "ann")
            .unwrap()
            .unwrap();
        let actor = hindsight::audit::Actor::system("test");
        hindsight::auth::users::set_email(&mut conn, ann.id, "ann@example.test", &actor).unwrap();
        hindsight::notifications::prefs::set(
            &mut conn,
            ann.id,
            &[(
                hindsight::notifications::NotificationKind::TaskOverdue,
                hindsight::notifications::prefs::Channel::Digest,
            )],
        )
        .unwrap();
        hindsight::notifications::digest::queue_due(&mut conn).unwrap();
        hindsight::notifications::digest::queue_due(&mut conn).unwrap();
        use diesel::prelude::*;
        use hindsight::db::schema::mail_outbox;
        let mails: Vec<(String, String, String)> = mail_outbox::table
            .select((
                mail_outbox::to_address,
                mail_outbox::subject,
                mail_outbox::body,
            ))
            .load(&mut conn)
            .unwrap();
        assert_eq!(mails.len(), 1, "{mails:?}");
        assert_eq!(mails[0].0, "ann@example.test");
        assert_eq!(mails[0].1, "1 overdue task");
        assert!(mails[0]
            .2
            .contains("- Add a replica lag alert (due 2020-01-01), INC-1 Checkout errors"));
        diesel::delete(mail_outbox::table)
            .execute(&mut conn)
            .unwrap();
    }

    // Read all over the API.
    let (_, before) = sam.get("/api/v1/notifications").await;
    assert_eq!(before["unread"], 1);
    let (status, _) = sam.post("/api/v1/notifications/read", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, after) = sam.get("/api/v1/notifications").await;
    assert_eq!(after["unread"], 0);
}
both_backends!(
    team_members_hear_what_is_theirs,
    team_members_hear_what_is_theirs
);

/// `hindsight team …` from the command line.
#[test]
fn teams_from_the_command_line() {
    use crate::binary::{cli, run};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    cli(&db, &["migrate"], "");
    for name in ["ann", "rex"] {
        cli(
            &db,
            &[
                "user",
                "create",
                "--username",
                name,
                "--role",
                "responder",
                "--password-stdin",
                "--email",
                &format!("{name}@example.test"),
            ],
            "correct horse battery staple",
        );
    }
    cli(&db, &["team", "create", "DBA", "--member", "ann,rex"], "");
    assert_eq!(cli(&db, &["team", "list"], ""), "DBA\tann,rex");
    cli(&db, &["team", "set-members", "dba", "--member", "rex"], "");
    assert_eq!(cli(&db, &["team", "list"], ""), "DBA\trex");
    let out = run(&db, &["team", "create", "Net", "--member", "ghost"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("There is no user `ghost`"));
    let out = run(&db, &["team", "delete", "nope"], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no team named `nope`"));
    cli(&db, &["team", "delete", "DBA"], "");
    assert_eq!(cli(&db, &["team", "list"], ""), "");
    let out = run(
        &db,
        &[
            "user",
            "create",
            "--username",
            "bad",
            "--role",
            "viewer",
            "--password-stdin",
            "--email",
            "nope",
        ],
        "correct horse battery staple",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an e-mail address"));
}

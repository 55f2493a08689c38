//! The in-app inbox: each notification goes to the right people and no one else (never to
//! the person who acted), shows in the header and the page, opens where it points, and is
//! the same over the API.

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

/// The messages in a user's inbox page, newest first.
async fn inbox(b: &Browser) -> Vec<String> {
    let (_, page) = b.get_text("/notifications").await;
    let list = page.split("<ul class=\"items inbox\">").nth(1).unwrap();
    list.split("<button class=\"linklike\" type=\"submit\">")
        .skip(1)
        .map(|s| s.split("</button>").next().unwrap().to_string())
        .collect()
}

async fn notifications_reach_the_right_people(app: TestApp) {
    let ann = user(&app, "ann").await;
    let rex = user(&app, "rex").await;
    let otto = user(&app, "otto").await;
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "Checkout errors"}))
        .await;
    let pm = "/incidents/INC-1/postmortem";
    let res = ann
        .post(
            pm,
            pm,
            &[("summary", "Short."), ("version", "0"), ("action", "save")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // Ann asks Rex: only Rex hears of it.
    let review = "/incidents/INC-1/postmortem/review";
    let res = ann
        .post(pm, review, &[("action", "request"), ("reviewers", "rex")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        inbox(&rex).await,
        ["ann asked you to review the postmortem of INC-1 Checkout errors."]
    );
    assert!(inbox(&ann).await.is_empty() && inbox(&otto).await.is_empty());
    let (_, dashboard) = rex.get_text("/").await;
    assert!(
        dashboard.contains("aria-label=\"1 unread\">1</span>"),
        "the header count"
    );

    // Rex approves: Ann hears of it.
    let res = rex.post(pm, review, &[("action", "approve")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        inbox(&ann).await,
        ["rex approved your postmortem of INC-1 Checkout errors."]
    );
    assert_eq!(inbox(&rex).await.len(), 1, "nothing for acting");

    // A task for Otto (from the API user) tells Otto; one Ann gives herself tells nobody.
    let (status, _) = api
        .post(
            "/api/v1/incidents/INC-1/tasks",
            json!({"title": "Add a synthetic check", "owner": "otto"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let res = ann
        .post(
            "/incidents/INC-1",
            "/incidents/INC-1/tasks",
            &[
                ("title", "Write the timeline"),
                ("owner", "ann"),
                ("priority", "medium"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(inbox(&ann).await.len(), 1);
    // An escalation to Otto by name tells Otto; one to a team tells no one.
    api.made(
        "/api/v1/incidents/INC-1/escalations",
        json!({"targets": ["otto", "DBA team"]}),
    )
    .await;
    let otto_inbox = inbox(&otto).await;
    assert_eq!(otto_inbox.len(), 2, "{otto_inbox:?}");
    assert!(otto_inbox[0].ends_with("escalated INC-1 Checkout errors to you."));
    assert!(
        otto_inbox[1].ends_with("gave you a task on INC-1 Checkout errors: Add a synthetic check")
    );
    assert_eq!(app.count("notifications"), 4, "and no one else");

    // Opening one goes where it points and marks it read; "Mark all read" clears.
    let (_, page) = otto.get_text("/notifications").await;
    let id = page
        .split("action=\"/notifications/")
        .skip(1)
        .find(|s| s.starts_with(|c: char| c.is_ascii_digit()))
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_string();
    let res = otto
        .post("/notifications", &format!("/notifications/{id}/open"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/incidents/INC-1#escalations");
    let (_, page) = otto.get_text("/notifications").await;
    assert!(page.contains("1 unread"));
    otto.submitted("/notifications", "/notifications/read", &[])
        .await;
    let (_, page) = otto.get_text("/notifications").await;
    assert!(page.contains("0 unread"));
    // Someone else's notification cannot be opened.
    let res = ann
        .post("/notifications", &format!("/notifications/{id}/open"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The API: the caller's own inbox.
    let rex_api = Api::new(&app, app.token(Role::Responder));
    let (status, body) = rex_api.get("/api/v1/notifications").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"items": [], "unread": 0}));
}
both_backends!(
    notifications_reach_the_right_people,
    notifications_reach_the_right_people
);

//! Restricted incidents: to everyone but their members (users and teams) and admins they do
//! not exist. Every route about the incident, its entries, tasks, escalations and causes
//! (pages and API) answers 404 to outsiders of every role and works for members; lists,
//! search, counts, the board and its CSV, the dashboard, postmortems, notifications and
//! webhooks leave it out; admins' looks are audited; restricting is on the timeline.

use hindsight::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

const SECRET: &str = "Credential leak in build runners";

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let mut b = Browser::new(app);
    let res = b.login(name, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "login {name}");
    b.username = name.to_string();
    b
}

/// The status of one request by `who` (page routes with the session, API routes with a
/// token), without reading a body (the event stream never ends).
async fn status_of(
    app: &TestApp,
    browser: &Browser,
    token: &str,
    method: &Method,
    path: &str,
) -> StatusCode {
    let url = app.url(path);
    let req = if path.starts_with("/api/") {
        let body = if *method == Method::GET || *method == Method::DELETE {
            None
        } else {
            Some(json!({"version": 1}))
        };
        let mut r = browser
            .client
            .request(method.clone(), url)
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r
    } else if *method == Method::POST {
        browser.client.post(url).form(&[("csrf_token", "x")])
    } else {
        browser.client.get(url)
    };
    req.send().await.unwrap().status()
}

/// Ways a tired person or an attacker writes the same incident key or record id in a URL:
/// plain, number only, lower case, leading zeros, percent-encoded digits, dash or letters,
/// then generated ones (each character encoded or not, hex digits in either case).
fn spellings(path: &str) -> Vec<String> {
    let mut out = vec![path.to_string()];
    if path.contains("INC-1") {
        for key in [
            "1", "inc-1", "001", "INC-01", "%31", "INC%2D1", "INC%2d1", "INC-%31", "%49NC-1",
            "%69nc-1", "%30%31",
        ] {
            out.push(path.replacen("INC-1", key, 1));
        }
        // Generated: a fixed-seed walk, so that a failure names a spelling to replay.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..12 {
            let mut key = String::new();
            for c in "INC-1".chars() {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                match seed >> 62 {
                    0 => key.push(c),
                    1 => key.push_str(&format!("%{:02X}", c as u32)),
                    2 => key.push_str(&format!("%{:02x}", c as u32)),
                    _ => key.push(c.to_ascii_lowercase()),
                }
            }
            out.push(path.replacen("INC-1", &key, 1));
        }
    } else {
        // `/tasks/7/edit`, `/api/v1/root-causes/9`: the id is the segment after the kind.
        let segments: Vec<&str> = path.split('/').collect();
        if let Some(i) = segments
            .iter()
            .position(|s| matches!(*s, "tasks" | "escalations" | "root-causes"))
        {
            out.extend(id_spellings(segments[i + 1]).into_iter().map(|id| {
                let mut s = segments.clone();
                s[i + 1] = &id;
                s.join("/")
            }));
        }
    }
    if path.contains("/timeline/") {
        // The entry id too.
        let segments: Vec<&str> = path.split('/').collect();
        if let Some(i) = segments.iter().position(|s| *s == "timeline") {
            if let Some(entry) = segments
                .get(i + 1)
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
            {
                out.extend(id_spellings(entry).into_iter().map(|id| {
                    let mut s = segments.clone();
                    s[i + 1] = &id;
                    s.join("/")
                }));
            }
        }
    }
    out
}

/// A record id with leading zeros and percent-encoded.
fn id_spellings(id: &str) -> Vec<String> {
    let encoded: String = id.bytes().map(|b| format!("%{b:02X}")).collect();
    vec![format!("0{id}"), format!("00{id}"), encoded]
}

async fn outsiders_never_see_a_restricted_incident(app: TestApp) {
    for (name, role) in [
        ("cmd", Role::Responder),
        ("mem", Role::Viewer),
        ("tm", Role::Responder),
        ("out", Role::Responder),
        ("peek", Role::Viewer),
        ("boss", Role::Admin),
    ] {
        app.create_user(name, role);
    }
    let admin_api = Api::new(&app, app.token_of("boss"));
    admin_api
        .made(
            "/api/v1/teams",
            json!({"name": "SecOps", "members": ["tm"]}),
        )
        .await;
    // Out opts in to SEV1 declarations; a webhook that did not opt in to restricted ones.
    let out_api = Api::new(&app, app.token_of("out"));
    out_api
        .changed(
            "/api/v1/me",
            json!({"notification_preferences": {"severe_declared": "in_app"}}),
        )
        .await;
    let cmd_api = Api::new(&app, app.token_of("cmd"));
    let (status, inc) = cmd_api
        .post(
            "/api/v1/incidents",
            json!({"title": SECRET, "severity": "SEV1", "commander": "cmd", "restricted": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    assert_eq!(inc["restricted"], true);
    cmd_api
        .made("/api/v1/incidents", json!({"title": "Public outage"}))
        .await;
    let (status, access) = cmd_api
        .send(
            Method::PUT,
            "/api/v1/incidents/INC-1/access",
            json!({"restricted": true, "users": ["mem"], "teams": ["SecOps"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{access}");
    assert_eq!(access["users"], json!(["cmd", "mem"]));
    let (_, shown) = cmd_api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(shown["members"], json!(["cmd", "mem", "SecOps"]));
    let (_, open) = cmd_api.get("/api/v1/incidents?status=open").await;
    let listed: Vec<_> = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].clone(), i["members"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (json!("INC-2"), json!([])),
            (json!("INC-1"), json!(["cmd", "mem", "SecOps"]))
        ],
        "lists carry members too"
    );
    let (_, entry) = cmd_api
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"kind": "action", "body": "Rotated the keys"}),
        )
        .await;
    let (_, task) = cmd_api
        .post(
            "/api/v1/incidents/INC-1/tasks",
            json!({"title": "Audit runner secrets", "owner": "cmd", "due_on": "2020-01-01"}),
        )
        .await;
    let (_, esc) = cmd_api
        .post(
            "/api/v1/incidents/INC-1/escalations",
            json!({"target": "SecOps"}),
        )
        .await;
    let (_, cause) = cmd_api
        .post(
            "/api/v1/incidents/INC-1/root-causes",
            json!({"kind": "primary", "category": "process", "description": "Secrets in logs"}),
        )
        .await;
    let link = cmd_api
        .made(
            "/api/v1/incidents/INC-1/links",
            json!({"kind": "related", "other": "INC-2"}),
        )
        .await;
    let evidence: serde_json::Value = cmd_api
        .client
        .post(format!(
            "{}/api/v1/incidents/INC-1/attachments",
            cmd_api.base
        ))
        .bearer_auth(&cmd_api.token)
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"runner log".to_vec()).file_name("runner.log"),
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (e, t, x, c, l) = (
        &entry["id"],
        &task["id"],
        &esc["id"],
        &cause["id"],
        &link["id"],
    );
    let a = &evidence["id"];

    let get = Method::GET;
    let post = Method::POST;
    let routes: Vec<(Method, String)> = vec![
        (get.clone(), "/incidents/INC-1".into()),
        (get.clone(), "/incidents/1".into()),
        (get.clone(), "/incidents/INC-1/edit".into()),
        (get.clone(), "/incidents/INC-1/stamp".into()),
        (get.clone(), "/incidents/INC-1/timeline".into()),
        (get.clone(), "/incidents/INC-1/events".into()),
        (get.clone(), "/incidents/INC-1/postmortem".into()),
        (get.clone(), "/incidents/INC-1/postmortem.md".into()),
        (get.clone(), "/incidents/INC-1/timeline/deleted".into()),
        (get.clone(), "/incidents/INC-1/tasks/new".into()),
        (get.clone(), "/incidents/INC-1/escalations/new".into()),
        (get.clone(), "/incidents/INC-1/root-causes/new".into()),
        (get.clone(), format!("/incidents/INC-1/timeline/{e}/edit")),
        (
            get.clone(),
            format!("/incidents/INC-1/timeline/{e}/revisions"),
        ),
        (get.clone(), format!("/tasks/{t}/edit")),
        (get.clone(), format!("/attachments/{a}")),
        (post.clone(), "/incidents/INC-1/attachments".into()),
        (post.clone(), format!("/attachments/{a}/purge")),
        (get.clone(), format!("/root-causes/{c}/edit")),
        (post.clone(), "/incidents/INC-1/edit".into()),
        (post.clone(), "/incidents/INC-1/status".into()),
        (post.clone(), "/incidents/INC-1/timeline".into()),
        (post.clone(), "/incidents/INC-1/access".into()),
        (post.clone(), "/incidents/INC-1/links".into()),
        (post.clone(), format!("/incidents/INC-1/links/{l}/delete")),
        (post.clone(), "/incidents/INC-1/updates".into()),
        (post.clone(), "/incidents/INC-1/escalations".into()),
        (post.clone(), "/incidents/INC-1/tasks".into()),
        (post.clone(), "/incidents/INC-1/root-causes".into()),
        (post.clone(), "/incidents/INC-1/postmortem".into()),
        (post.clone(), "/incidents/INC-1/postmortem/review".into()),
        (post.clone(), format!("/incidents/INC-1/timeline/{e}/edit")),
        (
            post.clone(),
            format!("/incidents/INC-1/timeline/{e}/delete"),
        ),
        (post.clone(), format!("/escalations/{x}/state")),
        (post.clone(), format!("/tasks/{t}/edit")),
        (post.clone(), format!("/tasks/{t}/quick")),
        (post.clone(), format!("/tasks/{t}/delete")),
        (post.clone(), format!("/root-causes/{c}/edit")),
        (post.clone(), format!("/root-causes/{c}/delete")),
        (get.clone(), "/api/v1/incidents/INC-1".into()),
        (get.clone(), "/api/v1/incidents/INC-1/timeline".into()),
        (get.clone(), "/api/v1/incidents/INC-1/events".into()),
        (get.clone(), "/api/v1/incidents/INC-1/escalations".into()),
        (get.clone(), "/api/v1/incidents/INC-1/root-causes".into()),
        (get.clone(), "/api/v1/incidents/INC-1/tasks".into()),
        (get.clone(), "/api/v1/incidents/INC-1/postmortem".into()),
        (get.clone(), "/api/v1/incidents/INC-1/postmortem.md".into()),
        (get.clone(), "/api/v1/incidents/INC-1/access".into()),
        (Method::PATCH, "/api/v1/incidents/INC-1".into()),
        (post.clone(), "/api/v1/incidents/INC-1/timeline".into()),
        (
            Method::PATCH,
            format!("/api/v1/incidents/INC-1/timeline/{e}"),
        ),
        (
            Method::DELETE,
            format!("/api/v1/incidents/INC-1/timeline/{e}"),
        ),
        (post.clone(), "/api/v1/incidents/INC-1/escalations".into()),
        (Method::PATCH, format!("/api/v1/escalations/{x}")),
        (post.clone(), "/api/v1/incidents/INC-1/root-causes".into()),
        (Method::PATCH, format!("/api/v1/root-causes/{c}")),
        (Method::DELETE, format!("/api/v1/root-causes/{c}")),
        (post.clone(), "/api/v1/incidents/INC-1/tasks".into()),
        (Method::PATCH, format!("/api/v1/tasks/{t}")),
        (Method::DELETE, format!("/api/v1/tasks/{t}")),
        (Method::PUT, "/api/v1/incidents/INC-1/postmortem".into()),
        (
            post.clone(),
            "/api/v1/incidents/INC-1/postmortem/review".into(),
        ),
        (Method::PUT, "/api/v1/incidents/INC-1/access".into()),
        (post.clone(), "/api/v1/incidents/INC-1/links".into()),
        (Method::DELETE, format!("/api/v1/incidents/INC-1/links/{l}")),
        (get.clone(), "/api/v1/incidents/INC-1/updates".into()),
        (post.clone(), "/api/v1/incidents/INC-1/updates".into()),
        (get.clone(), format!("/api/v1/attachments/{a}")),
        (get.clone(), "/api/v1/incidents/INC-1/attachments".into()),
        (post.clone(), "/api/v1/incidents/INC-1/attachments".into()),
    ];
    // Outsiders of each role: every route, in every spelling of its key or id, is a 404,
    // as for an incident that never was.
    for name in ["out", "peek"] {
        let b = signed_in(&app, name).await;
        let token = app.token_of(name);
        for (method, path) in &routes {
            for spelled in spellings(path) {
                assert_eq!(
                    status_of(&app, &b, &token, method, &spelled).await,
                    StatusCode::NOT_FOUND,
                    "{name}: {method} {spelled}"
                );
            }
        }
    }
    // Members (directly, through a team, as commander) and admins: never a 404, in any
    // spelling (the requests here are not all valid; they are answered, that is the point).
    let audit_before = app.count("audit_log");
    for name in ["mem", "tm", "cmd", "boss"] {
        let b = signed_in(&app, name).await;
        let token = app.token_of(name);
        for (method, path) in routes.iter().filter(|(m, p)| {
            // Leave the record as it is for the checks below.
            *m == Method::GET && !p.ends_with("/delete")
        }) {
            // A stream stays open until its next heartbeat: one spelling is enough there
            // (the outsiders above tried them all).
            let all = spellings(path);
            let tried = if path.ends_with("/events") {
                &all[..1]
            } else {
                &all[..]
            };
            for spelled in tried {
                assert_ne!(
                    status_of(&app, &b, &token, method, spelled).await,
                    StatusCode::NOT_FOUND,
                    "{name}: {method} {spelled}"
                );
            }
        }
    }
    assert!(
        app.count("audit_log") > audit_before,
        "the admin's looks are audited"
    );
    let looks = || {
        use diesel::prelude::*;
        use hindsight::db::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.eq("incident.admin_access"))
            .count()
            .get_result::<i64>(&mut app.connection())
            .unwrap()
    };
    assert!(looks() > 0);
    // Each look is one audit entry, whatever the spelling of the key.
    let boss_api = Api::new(&app, app.token_of("boss"));
    for spelled in ["/api/v1/incidents/INC%2D1", "/api/v1/incidents/%31"] {
        let before = looks();
        let (status, _) = boss_api.get(spelled).await;
        assert_eq!(status, StatusCode::OK, "{spelled}");
        assert_eq!(looks(), before + 1, "{spelled} is audited once");
    }

    // Lists, search, counts, board, CSV, dashboard, postmortems: not a trace for outsiders.
    let out = signed_in(&app, "out").await;
    for path in [
        "/",
        "/incidents",
        "/incidents?q=leak",
        "/tasks",
        "/tasks.csv",
        "/postmortems?state=missing",
        "/notifications",
    ] {
        let (_, page) = out.get_text(path).await;
        assert!(
            !page.contains(SECRET) && !page.contains("Audit runner secrets"),
            "out sees a trace on {path}"
        );
    }
    let (_, list) = out_api.get("/api/v1/incidents").await;
    assert_eq!(list["total"], 1, "counts leave it out");
    assert_eq!(list["items"][0]["title"], "Public outage");
    let (_, tasks) = out_api.get("/api/v1/tasks").await;
    assert_eq!(tasks["total"], 0);
    let (_, inbox) = out_api.get("/api/v1/notifications").await;
    assert_eq!(inbox["items"], json!([]), "no SEV1 notice for an outsider");
    // Members do see it in lists; the team member heard of the escalation.
    let mem = signed_in(&app, "mem").await;
    let (_, page) = mem.get_text("/incidents").await;
    assert!(page.contains(SECRET));
    let tm_api = Api::new(&app, app.token_of("tm"));
    let (_, inbox) = tm_api.get("/api/v1/notifications").await;
    assert!(inbox["items"].to_string().contains("escalated INC-1"));

    // Only the commander or an admin changes access (a member gets 403, not 404).
    let mem_api = Api::new(&app, app.token_of("mem"));
    let (status, _) = mem_api
        .send(
            Method::PUT,
            "/api/v1/incidents/INC-1/access",
            json!({"restricted": false}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The restriction is on the timeline.
    let (_, timeline) = cmd_api.get("/api/v1/incidents/INC-1/timeline").await;
    assert!(
        timeline.to_string().contains("Members changed"),
        "{timeline}"
    );

    // Opened again: everyone sees it.
    let (status, _) = cmd_api
        .send(
            Method::PUT,
            "/api/v1/incidents/INC-1/access",
            json!({"restricted": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(out.get("/incidents/INC-1").await.status(), StatusCode::OK);
}
both_backends!(
    outsiders_never_see_a_restricted_incident,
    outsiders_never_see_a_restricted_incident
);

/// Who runs a restricted incident and who is asked to act on it: only its commander or an
/// admin changes its commander and roles (a member cannot take it over and then change its
/// access); commanders, role holders, reviewers, task owners and escalation targets must be
/// able to see it (422 naming the field otherwise); a reviewer removed from it no longer
/// sees the request on their dashboard, nor old notices in their inbox; a hidden record
/// answers exactly as a missing one.
async fn a_restricted_incident_is_run_by_those_who_see_it(app: TestApp) {
    for (name, role) in [
        ("cmd", Role::Responder),
        ("mem", Role::Responder),
        ("rev", Role::Responder),
        ("out", Role::Responder),
        ("boss", Role::Admin),
    ] {
        app.create_user(name, role);
    }
    let boss = Api::new(&app, app.token_of("boss"));
    boss.made("/api/v1/teams", json!({"name": "Net", "members": ["out"]}))
        .await;
    let cmd = Api::new(&app, app.token_of("cmd"));
    let (status, _) = cmd
        .post(
            "/api/v1/incidents",
            json!({"title": SECRET, "commander": "cmd", "restricted": true, "services": ["vault-secrets"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Its service names no filter option or suggestion for outsiders.
    for (name, sees) in [("out", false), ("cmd", true)] {
        let b = signed_in(&app, name).await;
        for path in ["/incidents", "/incidents/new"] {
            let (_, page) = b.get_text(path).await;
            assert_eq!(page.contains("vault-secrets"), sees, "{name} on {path}");
        }
    }
    let (status, _) = cmd
        .send(
            Method::PUT,
            "/api/v1/incidents/INC-1/access",
            json!({"restricted": true, "users": ["mem", "rev"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let version = |v: &serde_json::Value| v["version"].as_i64().unwrap();
    let (status, inc) = cmd.get("/api/v1/incidents/INC-1").await;
    assert_eq!(status, StatusCode::OK, "{inc}");
    let v = version(&inc);

    // A member takes it over: refused, and its access stays as it was.
    let mem = Api::new(&app, app.token_of("mem"));
    let (status, body) = mem
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": v, "commander": "mem"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = mem
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": v, "scribe": "mem"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "roles too");
    // The commander cannot hand it to someone who cannot see it.
    let (status, body) = cmd
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": v, "commander": "out"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "commander");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("out cannot see INC-1"));
    // But to a member, yes.
    let (status, body) = cmd
        .patch(
            "/api/v1/incidents/INC-1",
            json!({"version": v, "communications_lead": "mem"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Reviewers, task owners and teams, escalation targets: members only.
    for (path, body, field) in [
        (
            "/api/v1/incidents/INC-1/postmortem/review",
            json!({"action": "request", "reviewers": ["out"]}),
            "reviewers",
        ),
        (
            "/api/v1/incidents/INC-1/tasks",
            json!({"title": "Rotate keys", "owner": "out"}),
            "owner",
        ),
        (
            "/api/v1/incidents/INC-1/tasks",
            json!({"title": "Rotate keys", "team": "Net"}),
            "team",
        ),
        (
            "/api/v1/incidents/INC-1/escalations",
            json!({"target": "out"}),
            "target",
        ),
        (
            "/api/v1/incidents/INC-1/escalations",
            json!({"target": "Net"}),
            "target",
        ),
    ] {
        let (status, answer) = cmd.post(path, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {body}: {answer}"
        );
        assert_eq!(answer["error"]["field"], field, "{path} {body}");
    }
    assert_eq!(app.count("tasks"), 0);
    assert_eq!(app.count("escalations"), 0);

    // A review asked of a member; then they are removed: no trace on their dashboard or
    // in their inbox.
    let (status, body) = cmd
        .post(
            "/api/v1/incidents/INC-1/postmortem/review",
            json!({"action": "request", "reviewers": ["rev"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rev = signed_in(&app, "rev").await;
    let (_, dash) = rev.get_text("/").await;
    assert!(dash.contains(SECRET), "the reviewer sees the request first");
    let (status, _) = cmd
        .send(
            Method::PUT,
            "/api/v1/incidents/INC-1/access",
            json!({"restricted": true, "users": ["mem"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/", "/notifications"] {
        let (_, page) = rev.get_text(path).await;
        assert!(!page.contains(SECRET), "a trace on {path}");
    }
    let (_, inbox) = Api::new(&app, app.token_of("rev"))
        .get("/api/v1/notifications")
        .await;
    assert!(!inbox.to_string().contains("INC-1"), "{inbox}");

    // A hidden record answers as a missing one: same status, same message shape, body
    // checked after access (a bad body changes nothing).
    let (_, task) = cmd
        .post(
            "/api/v1/incidents/INC-1/tasks",
            json!({"title": "Rotate keys", "owner": "mem"}),
        )
        .await;
    let out = Api::new(&app, app.token_of("out"));
    let t = task["id"].as_i64().unwrap();
    let missing = t + 1000;
    for body in [json!({"version": 1}), json!({"nonsense": true})] {
        let (s1, hidden) = out.patch(&format!("/api/v1/tasks/{t}"), body.clone()).await;
        let (s2, gone) = out
            .patch(&format!("/api/v1/tasks/{missing}"), body.clone())
            .await;
        assert_eq!((s1, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
        assert_eq!(
            hidden["error"]["message"]
                .as_str()
                .unwrap()
                .replace(&t.to_string(), "N"),
            gone["error"]["message"]
                .as_str()
                .unwrap()
                .replace(&missing.to_string(), "N"),
        );
    }
    let outsider = signed_in(&app, "out").await;
    for path in ["/incidents/INC-1/tasks/new", "/incidents/INC-999/tasks/new"] {
        assert_eq!(
            outsider.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}
both_backends!(
    a_restricted_incident_is_run_by_those_who_see_it,
    a_restricted_incident_is_run_by_those_who_see_it
);

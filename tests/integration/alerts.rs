//! Alertmanager intake with payloads shaped like Alertmanager's own (v4): firing, repeat,
//! partial resolve, resolved, malformed.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

fn alert(status: &str, instance: &str, fingerprint: &str, ends: &str) -> Value {
    json!({
        "status": status,
        "labels": {"alertname": "PaymentsFailing", "severity": "critical", "instance": instance, "service": "payments"},
        "annotations": {"summary": "Payment failures above 5%", "description": "Failed payments are above 5% of all attempts."},
        "startsAt": "2023-06-07T10:00:00.123Z",
        "endsAt": ends,
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=payments_failed",
        "fingerprint": fingerprint
    })
}

fn notification(status: &str, alerts: Vec<Value>) -> Value {
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"PaymentsFailing\"}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "hindsight",
        "groupLabels": {"alertname": "PaymentsFailing"},
        "commonLabels": {"alertname": "PaymentsFailing", "severity": "critical", "service": "payments"},
        "commonAnnotations": {"summary": "Payment failures above 5%"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": alerts
    })
}

/// Alerts through the intake token, everything else through a person's.
struct Alerts {
    intake: Api,
    reader: Api,
}

impl Alerts {
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.intake.post(path, body).await
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.reader.get(path).await
    }
    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.reader.patch(path, body).await
    }
}

const NEVER: &str = "0001-01-01T00:00:00Z";

async fn alertmanager_groups_into_one_incident(app: TestApp) {
    // Alert intake takes only a token with the alerts scope, which may do nothing else; a
    // person's token is refused (knowing a group key opens no incident).
    let person = Api::new(&app, app.token(Role::Admin));
    let intake = Api::new(&app, app.alerts_token(Role::Responder));
    let (status, body) = person
        .post(
            "/api/v1/alerts/alertmanager",
            notification("firing", vec![alert("firing", "gw-1", "aa11", NEVER)]),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("alerts scope"));
    assert_eq!(app.count("incidents"), 0);
    for path in ["/api/v1/incidents", "/api/v1/me", "/api/v1/tasks"] {
        assert_eq!(intake.get(path).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = intake
        .post(
            "/api/v1/incidents",
            json!({"title": "From the intake token"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The rest reads through a person's token; alerts go through the intake one.
    let api = Alerts {
        intake,
        reader: person,
    };
    let url = "/api/v1/alerts/alertmanager";
    let firing = notification(
        "firing",
        vec![
            alert("firing", "gw-1", "aa11", NEVER),
            alert("firing", "gw-2", "bb22", NEVER),
        ],
    );
    let (status, body) = api.post(url, firing.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["incident"], "INC-1");
    let (_, i) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(i["title"], "Payment failures above 5%");
    assert_eq!(i["severity"], "SEV1", "critical → SEV1");
    assert_eq!(i["detected_at"], "2023-06-07T10:00:00.123Z");
    assert_eq!(i["services"], json!(["payments"]));
    assert_eq!(i["timeline"].as_array().unwrap().len(), 1);
    assert_eq!(i["timeline"][0]["kind"], "detection");
    let body_text = i["timeline"][0]["body"].as_str().unwrap();
    assert!(
        body_text.contains("instance=gw-2") && body_text.contains("prometheus.example:9090"),
        "{body_text}"
    );

    // Redelivery of the same notification: nothing new.
    let (status, body) = api.post(url, firing).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["duplicate"], true);
    assert_eq!(app.count("timeline_entries"), 1);
    assert_eq!(app.count("incidents"), 1);

    // Partial resolve, then all resolved: entries on the same incident.
    let partial = notification(
        "firing",
        vec![
            alert("resolved", "gw-1", "aa11", "2023-06-07T10:30:00Z"),
            alert("firing", "gw-2", "bb22", NEVER),
        ],
    );
    assert_eq!(api.post(url, partial).await.0, StatusCode::OK);
    let resolved = notification(
        "resolved",
        vec![
            alert("resolved", "gw-1", "aa11", "2023-06-07T10:30:00Z"),
            alert("resolved", "gw-2", "bb22", "2023-06-07T10:45:00Z"),
        ],
    );
    let (status, body) = api.post(url, resolved.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["incident"], "INC-1");
    api.post(url, resolved).await;
    let (_, i) = api.get("/api/v1/incidents/INC-1").await;
    let kinds: Vec<&str> = i["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["detection", "detection", "note"]);
    assert_eq!(i["timeline"][2]["occurred_at"], "2023-06-07T10:45:00Z");

    // Once the incident is resolved, the next firing opens a new one.
    api.patch(
        "/api/v1/incidents/INC-1",
        json!({"version": i["version"], "status": "resolved"}),
    )
    .await;
    let again = notification("firing", vec![alert("firing", "gw-3", "cc33", NEVER)]);
    let (status, body) = api.post(url, again).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["incident"], "INC-2");

    // Malformed payloads change nothing.
    let before = (app.count("incidents"), app.count("timeline_entries"));
    for (payload, field) in [
        (
            json!({"version": "3", "groupKey": "x", "status": "firing", "alerts": []}),
            "version",
        ),
        (
            json!({"version": "4", "status": "firing", "alerts": [alert("firing", "a", "f", NEVER)]}),
            "groupKey",
        ),
        (
            json!({"version": "4", "groupKey": "x", "status": "exploded", "alerts": [alert("firing", "a", "f", NEVER)]}),
            "status",
        ),
        (
            json!({"version": "4", "groupKey": "x", "status": "firing", "alerts": []}),
            "alerts",
        ),
        (
            json!({"version": "4", "groupKey": "x", "status": "firing", "alerts": [{"status": "firing", "startsAt": "yesterday"}]}),
            "alerts[0].startsAt",
        ),
    ] {
        let (status, err) = api.post(url, payload).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err["error"]["field"], field);
    }
    assert_eq!(
        (app.count("incidents"), app.count("timeline_entries")),
        before
    );
    // An intake token of a viewer cannot declare incidents either.
    let viewer = Api::new(&app, app.alerts_token(Role::Viewer));
    assert_eq!(
        viewer
            .post(
                url,
                notification("firing", vec![alert("firing", "x", "y", NEVER)])
            )
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}
both_backends!(
    alertmanager_groups_into_one_incident,
    alertmanager_groups_into_one_incident
);

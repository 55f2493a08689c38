//! Concurrency: many writers on one incident, and concurrent edits at one version.

use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn concurrent_writers_and_edits(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "Busy incident"}))
        .await;
    // 64 concurrent timeline writes: every one succeeds.
    let writes = (0..64).map(|i| {
        let api = Api::new(&app, api.token.clone());
        async move {
            api.post(
                "/api/v1/incidents/INC-1/timeline",
                json!({"kind": "note", "body": format!("writer {i}")}),
            )
            .await
            .0
        }
    });
    let statuses = futures_util::future::join_all(writes).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    let (_, list) = api
        .get("/api/v1/incidents/INC-1/timeline?per_page=1000")
        .await;
    assert_eq!(list["total"], 65);

    // 16 concurrent edits at the same version: exactly one wins, the rest conflict.
    let edits = (0..16).map(|i| {
        let api = Api::new(&app, api.token.clone());
        async move {
            api.patch(
                "/api/v1/incidents/INC-1",
                json!({"version": 1, "title": format!("Edit {i}")}),
            )
            .await
            .0
        }
    });
    let statuses = futures_util::future::join_all(edits).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 15), "{statuses:?}");
    let (_, i) = api.get("/api/v1/incidents/INC-1").await;
    assert_eq!(i["version"], 2);
}
both_backends!(concurrent_writers_and_edits, concurrent_writers_and_edits);

/// Every outbox (mail, webhooks, chat) sends an item once across servers: a server that
/// read an item as due and claims it only after another server sent it (and so unlocked
/// it), or after another's failed try put it off, takes nothing.
async fn a_late_claim_takes_nothing(app: TestApp) {
    use diesel::connection::SimpleConnection;
    use hindsight::db::DbConnection;
    use hindsight::outbox::Outbox;

    fn late<O: Outbox>(conn: &mut DbConnection, table: &str) {
        let due_now = format!(
            "UPDATE {table} SET status = 'pending', locked_until = NULL, \
             next_attempt_at = '2026-01-01 00:00:00'"
        );
        // Another server sent it between this one's read and its claim.
        conn.batch_execute(&due_now).unwrap();
        let found = O::due(conn, 10).unwrap();
        assert_eq!(found.len(), 1, "{table}: due");
        conn.batch_execute(&format!(
            "UPDATE {table} SET status = 'sent', locked_until = NULL"
        ))
        .unwrap();
        assert!(O::claim(conn, found).unwrap().is_empty(), "{table}: sent");
        // Another server's try failed and put it off.
        conn.batch_execute(&due_now).unwrap();
        let found = O::due(conn, 10).unwrap();
        conn.batch_execute(&format!(
            "UPDATE {table} SET next_attempt_at = '2999-01-01 00:00:00'"
        ))
        .unwrap();
        assert!(
            O::claim(conn, found).unwrap().is_empty(),
            "{table}: put off"
        );
        // Due and unclaimed: this server takes it.
        conn.batch_execute(&due_now).unwrap();
        let found = O::due(conn, 10).unwrap();
        assert_eq!(O::claim(conn, found).unwrap().len(), 1, "{table}: claimed");
    }

    let mut conn = app.connection();
    conn.batch_execute(
        "INSERT INTO mail_outbox (to_address, subject, body, link, status, attempts, \
         next_attempt_at, last_error, created_at) VALUES ('a@example.com', 's', 'b', '/', \
         'pending', 0, '2026-01-01 00:00:00', '', CURRENT_TIMESTAMP); \
         INSERT INTO webhooks (url, secret, events, active, created_at, format, restricted_too) \
         VALUES ('https://hooks.example.com/x', 's', '*', TRUE, '2026-01-01 00:00:00', \
         'hindsight', FALSE); \
         INSERT INTO webhook_deliveries (webhook_id, event, payload, status, attempts, \
         next_attempt_at, last_error, created_at) VALUES (1, 'incident.created', '{}', \
         'pending', 0, '2026-01-01 00:00:00', '', '2026-01-01 00:00:00'); \
         INSERT INTO chat_outbox (platform, channel_id, payload, status, attempts, \
         next_attempt_at, last_error, created_at) VALUES ('slack', 'C1', '{}', 'pending', 0, \
         '2026-01-01 00:00:00', '', '2026-01-01 00:00:00');",
    )
    .unwrap();
    late::<hindsight::mail::worker::MailOutbox>(&mut conn, "mail_outbox");
    late::<hindsight::webhooks::worker::WebhookOutbox>(&mut conn, "webhook_deliveries");
    late::<hindsight::chat::outbox::ChatOutbox>(&mut conn, "chat_outbox");
}
both_backends!(a_late_claim_takes_nothing, a_late_claim_takes_nothing);

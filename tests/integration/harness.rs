//! The test harness keeps its own promises: a test that fails leaves no server running and
//! no PostgreSQL database behind.

use diesel::{Connection, PgConnection, RunQueryDsl};
use hindsight::db::DbUrl;

use crate::helpers::*;

/// A failing test unwinds through its `Cleanup` without reaching `finish()`: the guard's
/// drop alone must stop the server and drop the database.
#[actix_web::test]
async fn a_test_that_fails_leaves_no_server_or_database() {
    let Some(base) = postgres_base_url() else {
        return;
    };
    let (name, address) = {
        let _cleanup = Cleanup;
        let app = spawn_app(Backend::Postgres).await.unwrap();
        let DbUrl::Postgres(url) = &app.url else {
            unreachable!("a PostgreSQL app")
        };
        let name = url.rsplit('/').next().unwrap().to_string();
        let res = reqwest::get(app.url("/healthz")).await.unwrap();
        assert!(res.status().is_success());
        (name, app.address.clone())
        // No finish(): the guard drops here, as it would while a failed assertion unwinds.
    };
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = PgConnection::establish(&base).unwrap();
    let found: Found = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM pg_database WHERE datname = '{name}'"
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(found.n, 0, "database {name} was dropped");
    // The server stops accepting (it was told to stop; give it the moment it needs).
    let mut stopped = false;
    for _ in 0..100 {
        if reqwest::get(format!("{address}/healthz")).await.is_err() {
            stopped = true;
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(stopped, "the server at {address} stopped");
}

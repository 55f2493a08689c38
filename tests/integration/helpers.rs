//! Test harness: the real app on a random port over a fresh database (a temp SQLite file,
//! or a new PostgreSQL database per test), with a cookie-keeping client.

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use hindsight::app::Application;
use hindsight::audit::Actor;
use hindsight::auth::users::{self, NewUser};
use hindsight::auth::{tokens, Role};
use hindsight::config::Config;
use hindsight::db::{self, DbPool, DbUrl};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PASSWORD: &str = "correct horse battery";

/// A running app and what a test needs to reach it.
pub struct TestApp {
    pub address: String,
    pub pool: DbPool,
    pub url: DbUrl,
    pub setup_url: Option<String>,
    handle: hindsight::app::AppHandle,
    _dir: Option<tempfile::TempDir>,
}

/// The PostgreSQL server for tests: `HINDSIGHT_TEST_POSTGRES_URL` (a database whose role
/// may CREATE DATABASE). Absent: the PostgreSQL half of each test skips, unless `CI=true`.
pub fn postgres_base_url() -> Option<String> {
    match std::env::var("HINDSIGHT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but HINDSIGHT_TEST_POSTGRES_URL is not set: PostgreSQL tests are required in CI");
            }
            eprintln!("SKIPPED (PostgreSQL half): set HINDSIGHT_TEST_POSTGRES_URL=postgres://… to run it (see README)");
            None
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn fresh_postgres_database(base: &str) -> String {
    let name = format!(
        "hs_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        hindsight::auth::random_token(4)
    );
    let mut conn = PgConnection::establish(base).expect("connect to the test PostgreSQL");
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    let (prefix, _) = base
        .rsplit_once('/')
        .expect("postgres URL with a database name");
    format!("{prefix}/{name}")
}

/// Where a test app keeps its data, so a restart can reopen it.
pub struct Storage {
    pub url: DbUrl,
    dir: Option<tempfile::TempDir>,
}

impl Storage {
    pub fn new(backend: Backend) -> Option<Storage> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("hindsight.db");
                Some(Storage {
                    url: DbUrl::Sqlite(path.to_string_lossy().into_owned()),
                    dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let base = postgres_base_url()?;
                Some(Storage {
                    url: DbUrl::Postgres(fresh_postgres_database(&base)),
                    dir: None,
                })
            }
        }
    }
}

/// Starts the app on a fresh database; `None` when the backend is unavailable (skip).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    let storage = Storage::new(backend)?;
    Some(start(storage))
}

/// Starts the app over existing storage (used to restart).
pub fn start(storage: Storage) -> TestApp {
    start_with(storage, |_| {})
}

/// [`start`] with changes to the test configuration.
pub fn start_with(storage: Storage, configure: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config {
        database_url: storage.url.clone(),
        bind: "127.0.0.1:0".into(),
        base_url: "http://127.0.0.1:0".into(),
        secure_cookies: false,
        webhook_retry: std::time::Duration::from_millis(300),
        request_timeout: std::time::Duration::from_secs(1),
        body_timeout: std::time::Duration::from_secs(2),
        metrics_token: None,
        // The tests' webhook receivers listen on loopback.
        webhook_allow_private: true,
        trusted_proxies: vec![],
        mail: None,
        oidc: None,
        password_login: true,
        live: hindsight::config::LiveLimits {
            max_streams: 1000,
            max_per_user: 20,
            idle: std::time::Duration::from_secs(600),
            heartbeat: std::time::Duration::from_millis(300),
        },
        update_cadence: Default::default(),
        chat: Default::default(),
        status_recheck: std::time::Duration::ZERO,
        max_attachment: 20 * 1024 * 1024,
    };
    configure(&mut config);
    let app = Application::build(config).expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let setup_url = app.setup_url.clone();
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    STARTED.with(|s| {
        let mut s = s.borrow_mut();
        s.0.push(handle.clone());
        if let DbUrl::Postgres(url) = &storage.url {
            let name = url.rsplit('/').next().unwrap_or_default().to_string();
            if !s.1.contains(&name) {
                s.1.push(name);
            }
        }
    });
    let pool = db::connect(&storage.url).expect("pool");
    TestApp {
        address,
        pool,
        url: storage.url,
        setup_url,
        handle,
        _dir: storage.dir,
    }
}

thread_local! {
    /// Servers and PostgreSQL databases a test started, stopped and dropped by [`finish`].
    static STARTED: std::cell::RefCell<(Vec<hindsight::app::AppHandle>, Vec<String>)> = Default::default();
}

/// Drops this PostgreSQL database when the test finishes (for storage not used by [`start`]).
pub fn track_database(url: &DbUrl) {
    if let DbUrl::Postgres(u) = url {
        let name = u.rsplit('/').next().unwrap_or_default().to_string();
        STARTED.with(|s| s.borrow_mut().1.push(name));
    }
}

/// Stops every server the test started, then drops its PostgreSQL databases, so no
/// worker thread outlives its test (and none holds a connection while the process exits).
pub async fn finish() {
    let (handles, databases) = STARTED.with(|s| std::mem::take(&mut *s.borrow_mut()));
    for handle in handles {
        handle.stop(false).await;
    }
    drop_databases(databases);
}

fn drop_databases(databases: Vec<String>) {
    if let (false, Ok(base)) = (
        databases.is_empty(),
        std::env::var("HINDSIGHT_TEST_POSTGRES_URL"),
    ) {
        if let Ok(mut conn) = PgConnection::establish(&base) {
            for name in databases {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// Held by every test (see [`both_backends!`]): when the test fails before [`finish`], its
/// servers are told to stop and its PostgreSQL databases are dropped all the same.
pub struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (handles, databases) = STARTED.with(|s| std::mem::take(&mut *s.borrow_mut()));
        for handle in &handles {
            handle.stop_now();
        }
        drop_databases(databases);
    }
}

impl TestApp {
    /// Stops the server and hands back its storage, for a restart.
    pub async fn stop(mut self) -> Storage {
        self.handle.stop(true).await;
        Storage {
            url: self.url.clone(),
            dir: self._dir.take(),
        }
    }

    /// Another server over the same database (as in a deployment with several).
    pub fn second_server(&self) -> TestApp {
        start(Storage {
            url: self.url.clone(),
            dir: None,
        })
    }

    /// [`TestApp::second_server`] with changes to its configuration.
    pub fn second_server_with(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        start_with(
            Storage {
                url: self.url.clone(),
                dir: None,
            },
            configure,
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A user with `role`, named after it, with [`PASSWORD`].
    pub fn create_user(&self, username: &str, role: Role) {
        let mut conn = self.pool.get().expect("conn");
        let new = NewUser::new(username, "", role, PASSWORD).expect("valid user");
        users::create(&mut conn, &new, &Actor::system("test")).expect("create user");
    }

    /// An API token for a new user of `role`.
    pub fn token(&self, role: Role) -> String {
        let username = format!("api-{}-{}", role, hindsight::auth::random_token(3));
        self.create_user(&username, role);
        self.token_of(&username)
    }

    /// An API token for the existing user `username`.
    pub fn token_of(&self, username: &str) -> String {
        self.scoped_token_of(username, tokens::TokenScope::Full)
    }

    /// An alert-intake token (scope `alerts`) for a new user of `role`.
    pub fn alerts_token(&self, role: Role) -> String {
        let username = format!("alerts-{}-{}", role, hindsight::auth::random_token(3));
        self.create_user(&username, role);
        self.scoped_token_of(&username, tokens::TokenScope::Alerts)
    }

    fn scoped_token_of(&self, username: &str, scope: tokens::TokenScope) -> String {
        let mut conn = self.pool.get().expect("conn");
        let user = users::find_by_username(&mut conn, username)
            .unwrap()
            .unwrap_or_else(|| panic!("no user {username}"));
        tokens::create(&mut conn, &user, "test", scope, &Actor::system("test")).expect("token")
    }

    /// A signed-in browser for a new user of `role`.
    pub async fn login_as(&self, role: Role) -> Browser {
        let username = format!("{}-{}", role, hindsight::auth::random_token(3));
        self.create_user(&username, role);
        let mut browser = Browser::new(self);
        let res = browser.login(&username, PASSWORD).await;
        browser.username = username.clone();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login as {username}");
        browser
    }

    /// A connection of its own to the app's database, set up like the pool's.
    pub fn connection(&self) -> hindsight::db::DbConnection {
        hindsight::db::connect_one(&self.url).expect("a connection to the test database")
    }

    pub fn count(&self, table: &str) -> i64 {
        self.count_where(table, "TRUE")
    }

    /// Rows of `table` matching `condition` (SQL written in the test, never user input).
    pub fn count_where(&self, table: &str, condition: &str) -> i64 {
        use diesel::prelude::*;
        use diesel::sql_types::BigInt;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        // The pool's connection: the fuzz test counts thousands of times.
        let mut pooled = self.pool.get().expect("a pool connection");
        let conn: &mut hindsight::db::DbConnection = &mut pooled;
        diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM {table} WHERE {condition}"
        ))
        .get_result::<Count>(conn)
        .expect("count")
        .n
    }
}

/// A cookie-keeping client that does not follow redirects (tests assert them).
pub struct Browser {
    pub client: Client,
    pub base: String,
    pub username: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap();
        Browser {
            client,
            base: app.address.clone(),
            username: String::new(),
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let res = self.get(path).await;
        let status = res.status();
        (status, res.text().await.unwrap())
    }

    /// Posts a form as-is (the caller decides about `csrf_token`).
    #[must_use = "check the status"]
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form with the CSRF token from `page` (a GET path whose forms carry it).
    /// A multipart form posted as it is (its CSRF token included by the caller).
    #[must_use = "check the status"]
    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Sets this reader's time zone (set-up: must succeed).
    pub async fn set_time_zone(&self, zone: &str) {
        self.submitted(
            "/settings/time-zone",
            "/settings/time-zone",
            &[("time_zone", zone)],
        )
        .await;
    }

    /// A set-up form post that must succeed (a 303 onwards): panics with the page otherwise.
    pub async fn submitted(&self, page: &str, path: &str, fields: &[(&str, &str)]) -> Response {
        let res = self.post(page, path, fields).await;
        if res.status() != StatusCode::SEE_OTHER {
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            panic!("set-up form POST {path} failed: {status}\n{body}");
        }
        res
    }

    #[must_use = "check the status"]
    pub async fn post(&self, page: &str, path: &str, fields: &[(&str, &str)]) -> Response {
        let (_, html) = self.get_text(page).await;
        let token = csrf_token(&html).unwrap_or_else(|| panic!("no csrf_token on {page}"));
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post(
            "/login",
            "/login",
            &[("username", username), ("password", password)],
        )
        .await
    }
}

/// The first `csrf_token` value in a page.
pub fn csrf_token(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// A JSON API client for one token.
pub struct Api {
    pub client: Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub fn new(app: &TestApp, token: String) -> Api {
        Api {
            client: Client::new(),
            base: app.address.clone(),
            token,
        }
    }

    /// A document that is not JSON (an export), as text.
    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    }

    pub async fn get(&self, path: &str) -> (StatusCode, serde_json::Value) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        json_of(res).await
    }

    #[must_use = "check the status"]
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        let res = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        json_of(res).await
    }

    #[must_use = "check the status, or use `made` for set-up that must succeed"]
    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    #[must_use = "check the status, or use `changed` for set-up that must succeed"]
    pub async fn patch(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        self.send(reqwest::Method::PATCH, path, body).await
    }

    /// A set-up POST that must succeed: panics with the path, status and body otherwise.
    pub async fn made(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let (status, answer) = self.post(path, body).await;
        assert!(
            status.is_success(),
            "set-up POST {path} failed: {status} {answer}"
        );
        answer
    }

    /// A set-up PATCH that must succeed: panics with the path, status and body otherwise.
    pub async fn changed(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let (status, answer) = self.patch(path, body).await;
        assert!(
            status.is_success(),
            "set-up PATCH {path} failed: {status} {answer}"
        );
        answer
    }
}

pub async fn json_of(res: Response) -> (StatusCode, serde_json::Value) {
    let status = res.status();
    let text = res.text().await.unwrap();
    let value = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    };
    (status, value)
}

/// Declares one test body for both backends: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[actix_web::test]
            async fn sqlite() {
                let _cleanup = $crate::helpers::Cleanup;
                let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite)
                    .await
                    .unwrap();
                $body(app).await;
                $crate::helpers::finish().await;
            }
            #[actix_web::test]
            async fn postgres() {
                let _cleanup = $crate::helpers::Cleanup;
                if let Some(app) =
                    $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await
                {
                    $body(app).await;
                    $crate::helpers::finish().await;
                }
            }
        }
    };
}

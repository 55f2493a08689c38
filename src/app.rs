//! Building and running the server: shared state, middleware, start-up tasks.

use std::net::TcpListener;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{from_fn, Compress, DefaultHeaders};
use actix_web::{web, App, HttpServer};

use crate::auth::{session, setup, throttle};
use crate::config::Config;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::extract::reject;
use crate::live::hub::{Hub, Poke};
use crate::metrics::Metrics;
use crate::ops;
use crate::routes;
use crate::state::AppState;

/// Memory kept for rendered timelines: about 30 incidents of 1,000 entries.
const TIMELINE_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Content-Security-Policy: no inline script or style, nothing from other origins.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// A bound, migrated server, ready to run.
pub struct Application {
    address: std::net::SocketAddr,
    server: Server,
    live: Arc<Hub>,
    pub setup_url: Option<String>,
}

/// Stops a running [`Application`]: its live streams first (they would otherwise hold a
/// graceful stop for its whole timeout), then the server.
#[derive(Clone)]
pub struct AppHandle {
    server: ServerHandle,
    live: Arc<Hub>,
}

impl AppHandle {
    pub async fn stop(&self, graceful: bool) {
        self.live.close();
        self.server.stop(graceful).await;
    }

    /// Tells the server to stop without waiting for it (for a `Drop`, which cannot wait).
    pub fn stop_now(&self) {
        self.live.close();
        // The command is sent when `stop` is called; the future only waits for the end.
        drop(self.server.stop(false));
    }
}

/// Migrates, purges expired sessions and old throttle rows, and issues a setup link when
/// there are no users yet (its token).
fn prepare_database(pool: &db::DbPool) -> Result<Option<String>, String> {
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let applied = db::migrate(&mut conn)?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied migrations");
    }
    if let Err(e) = db::optimize(&mut conn, true) {
        tracing::warn!(error = %e, "could not gather the query planner's statistics");
    }
    let _ = session::purge_expired(&mut conn);
    let _ = throttle::purge_old(&mut conn);
    setup::issue_if_needed(&mut conn).map_err(|e| e.to_string())
}

/// Refreshes SQLite's planner statistics every few hours, as SQLite advises for a
/// long-running process (cheap when little changed).
async fn keep_statistics(db: Db) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(4 * 3600));
    every.tick().await; // the first tick is now: start-up just did it
    loop {
        every.tick().await;
        // Through the writer: gathering statistics writes them.
        if let Err(e) = db.write(|conn| Ok(db::optimize(conn, false)?)).await {
            tracing::warn!(error = %e, "could not refresh the query planner's statistics");
        }
    }
}

/// The database writer (telling the live hub what each commit changed), the hub with its
/// PostgreSQL listener, and the mail and webhook workers, each with a pool of its own.
fn start_live_and_workers(
    config: &Config,
    pool: db::DbPool,
    sqlite: bool,
) -> Result<(Db, Arc<Hub>), String> {
    // Webhook deliveries go out from a worker with a pool of its own.
    let worker_db = Db::new(db::connect(&config.database_url)?, sqlite)?;
    // Live updates: the writer tells the hub which incidents each commit changed; on
    // PostgreSQL a listener tells it about commits through other servers too.
    let (pokes, poked) = tokio::sync::mpsc::unbounded_channel::<Poke>();
    let announce = {
        let pokes = pokes.clone();
        Box::new(move |changes: Vec<db::Change>| {
            for change in changes {
                let _ = pokes.send(Poke::Changed(change));
            }
        })
    };
    let db = Db::announcing(pool, sqlite, Some(announce))?;
    let pg = matches!(config.database_url, db::DbUrl::Postgres(_));
    let (announce, changed_presence) =
        tokio::sync::mpsc::unbounded_channel::<crate::ids::IncidentId>();
    let (heard_tx, heard) = tokio::sync::mpsc::unbounded_channel::<String>();
    let live = Hub::new(
        db.clone(),
        crate::live::data::describe,
        config.live,
        pokes.clone(),
        pg.then_some(announce),
    );
    if let db::DbUrl::Postgres(url) = &config.database_url {
        crate::live::listen::spawn(url.clone(), pokes, heard_tx, live.closed())
            .map_err(|e| format!("cannot start the live-update listener: {e}"))?;
    }
    actix_web::rt::spawn(Arc::clone(&live).run(poked, changed_presence, heard));
    if let Some(mail) = config.mail.clone() {
        let mail_db = Db::new(db::connect(&config.database_url)?, sqlite)?;
        actix_web::rt::spawn(crate::mail::worker::run(
            mail_db,
            mail,
            config.base_url.clone(),
            config.webhook_retry,
        ));
    }
    actix_web::rt::spawn(crate::incidents::updates::nudge::run(
        worker_db.clone(),
        config.update_cadence,
    ));
    actix_web::rt::spawn(crate::status::announce::run(worker_db.clone()));
    if sqlite {
        actix_web::rt::spawn(keep_statistics(worker_db.clone()));
    }
    if config.chat.slack.is_some() || config.chat.mattermost.is_some() {
        actix_web::rt::spawn(crate::chat::outbox::run(
            worker_db.clone(),
            config.chat.clone(),
            config.base_url.clone(),
            config.webhook_retry,
        ));
    }
    actix_web::rt::spawn(crate::webhooks::worker::run(
        worker_db,
        config.webhook_retry,
        config.webhook_allow_private,
        config.base_url.clone(),
    ));
    Ok((db, live))
}

impl Application {
    /// Opens the database, migrates, issues a setup link when there are no users, and binds.
    pub fn build(config: Config) -> Result<Application, String> {
        let queries = Arc::new(AtomicU64::new(0));
        let pool = db::connect_counted(&config.database_url, Arc::clone(&queries))?;
        let setup_token = prepare_database(&pool)?;
        let listener = TcpListener::bind(&config.bind)
            .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let port = address.port();
        let setup_url = setup_token.map(|t| {
            let base = if config.base_url.ends_with(":0") {
                format!("{}{port}", config.base_url.trim_end_matches('0'))
            } else {
                config.base_url.clone()
            };
            format!("{base}/setup?token={t}")
        });
        if let Some(url) = &setup_url {
            tracing::warn!(
                "No users yet. Create the first admin at {url} (link works once, for 24 hours)"
            );
        }
        let sqlite = matches!(config.database_url, db::DbUrl::Sqlite(_));
        let (db, live) = start_live_and_workers(&config, pool, sqlite)?;
        let request_timeout = config.request_timeout;
        let state = web::Data::new(AppState {
            db,
            live: Arc::clone(&live),
            oidc: config
                .oidc
                .clone()
                .map(crate::auth::oidc::Oidc::new)
                .transpose()?
                .map(Arc::new),
            config,
            metrics: Metrics::new(queries),
            timelines: Arc::new(crate::timeline::rendered::TimelineCache::new(
                TIMELINE_CACHE_BYTES,
            )),
            status_cache: Default::default(),
            similar: Default::default(),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(crate::limits::BODY_BYTES))
                .app_data(web::QueryConfig::default().error_handler(|e, req| {
                    reject(
                        req,
                        AppError::BadRequest(format!("Invalid query string: {e}.")),
                    )
                }))
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|_, req| reject(req, AppError::NotFound("page".into()))),
                )
                .wrap(from_fn(ops::body_deadline))
                .wrap(from_fn(ops::error_pages))
                .wrap(from_fn(ops::head_as_get))
                .wrap(from_fn(ops::check_url))
                .wrap(from_fn(ops::conditional))
                .wrap(Compress::default())
                .wrap(
                    DefaultHeaders::new()
                        .add(("Content-Security-Policy", CSP))
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Referrer-Policy", "same-origin"))
                        .add(("Cross-Origin-Opener-Policy", "same-origin")),
                )
                .wrap(from_fn(ops::observe))
                .configure(routes::configure)
        })
        .listen(listener)
        .map_err(|e| e.to_string())?
        .shutdown_timeout(30)
        // The caller decides when to stop (`cli::serve` on SIGINT/SIGTERM, tests by handle).
        .disable_signals()
        // Slow clients: a request's head must arrive within `request_timeout` (5 s), and
        // idle keep-alive connections close after 30 s.
        .client_request_timeout(request_timeout)
        .keep_alive(std::time::Duration::from_secs(30))
        .run();
        Ok(Application {
            address,
            server,
            live,
            setup_url,
        })
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The address the server listens on (the real port when bound to port 0).
    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    /// A handle to stop the server (tests use it to restart).
    pub fn handle(&self) -> AppHandle {
        AppHandle {
            server: self.server.handle(),
            live: Arc::clone(&self.live),
        }
    }

    /// Serves until stopped through [`Application::handle`] (in-flight requests finish).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stopped = self.server.await;
        self.live.close();
        stopped
    }
}

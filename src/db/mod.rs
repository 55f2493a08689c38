//! Storage: one connection type over SQLite and PostgreSQL, the r2d2 pool, embedded
//! migrations, transactions, and [`Db`], the handle through which handlers read and write.

mod access;
pub mod schema;
mod text_enum;
mod writer;

pub use writer::{changed, Change};

pub use access::Db;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::InstrumentationEvent;

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, CustomizeConnection, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// A connection to whichever backend `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

pub type DbPool = r2d2::Pool<DbManager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A database location, chosen by URL scheme (never by trial and error: see STACK-NOTES).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(String),
    Postgres(String),
}

impl DbUrl {
    /// `sqlite://PATH`, a bare path, or `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("DATABASE_URL is empty".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("DATABASE_URL sqlite:// needs a file path".into());
            }
            return Ok(DbUrl::Sqlite(path.to_string()));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(format!(
                "DATABASE_URL scheme `{scheme}` is not supported: use sqlite://PATH or postgres://…"
            ));
        }
        if url.starts_with("postgres:") || url.starts_with("sqlite:") {
            return Err(format!(
                "DATABASE_URL `{url}` looks like a URL but lacks `//` after the scheme"
            ));
        }
        Ok(DbUrl::Sqlite(url.to_string()))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DbUrl::Sqlite(_) => "sqlite",
            DbUrl::Postgres(_) => "postgres",
        }
    }
}

/// r2d2 manager that opens the backend named by the URL.
#[derive(Debug)]
pub struct DbManager {
    url: DbUrl,
}

/// A connection as the pool keeps it: with when it was last handed back, so that one in
/// steady use is not asked `SELECT 1` at every checkout (on PostgreSQL that was a round
/// trip per request and more: three per API request, one per write group).
pub struct PooledDb {
    conn: DbConnection,
    returned: Instant,
}

impl std::ops::Deref for PooledDb {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PooledDb {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// A connection handed back this recently, and not broken then, is taken as alive without
/// a test (HikariCP's "alive bypass window" is 500 ms). One idle longer is tested first,
/// so a database restart during a quiet spell costs no request; a query on a connection
/// that died meanwhile fails, marks it broken (diesel reads libpq's status), and the pool
/// drops it on return.
const ALIVE_WITHOUT_TEST: Duration = Duration::from_secs(1);

impl ManageConnection for DbManager {
    type Connection = PooledDb;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<PooledDb, r2d2::Error> {
        let conn = match &self.url {
            DbUrl::Sqlite(path) => SqliteConnection::establish(path).map(DbConnection::Sqlite),
            DbUrl::Postgres(url) => PgConnection::establish(url).map(DbConnection::Postgres),
        }
        .map_err(r2d2::Error::ConnectionError)?;
        Ok(PooledDb {
            conn,
            returned: Instant::now(),
        })
    }

    fn is_valid(&self, pooled: &mut PooledDb) -> Result<(), r2d2::Error> {
        // A SQLite file cannot drop its connection.
        if matches!(pooled.conn, DbConnection::Sqlite(_))
            || pooled.returned.elapsed() < ALIVE_WITHOUT_TEST
        {
            return Ok(());
        }
        pooled
            .conn
            .batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, pooled: &mut PooledDb) -> bool {
        pooled.returned = Instant::now();
        <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(
            &mut pooled.conn,
        )
    }
}

/// Per-connection set-up, run when the pool opens a connection: SQLite PRAGMAs (they are per
/// connection) and a query counter (exported in `/metrics`; tests use it to prove lists
/// make a fixed number of queries).
#[derive(Debug)]
struct OnConnect {
    queries: Arc<AtomicU64>,
}

impl CustomizeConnection<PooledDb, r2d2::Error> for OnConnect {
    fn on_acquire(&self, pooled: &mut PooledDb) -> Result<(), r2d2::Error> {
        let conn = &mut pooled.conn;
        let queries = Arc::clone(&self.queries);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { .. } = event {
                queries.fetch_add(1, Ordering::Relaxed);
            }
        });
        if let DbConnection::Sqlite(c) = conn {
            // busy_timeout first so the journal-mode switch itself waits for other writers.
            c.batch_execute(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
            .map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// A single connection with the same settings as the pool's (for one-shot CLI commands).
pub fn connect_one(url: &DbUrl) -> Result<DbConnection, String> {
    let manager = DbManager { url: url.clone() };
    let mut conn = manager
        .connect()
        .map_err(|e| format!("cannot connect to the {} database: {e}", url.backend_name()))?;
    OnConnect {
        queries: Arc::default(),
    }
    .on_acquire(&mut conn)
    .map_err(|e| format!("cannot set up the {} connection: {e}", url.backend_name()))?;
    Ok(conn.conn)
}

/// Builds the pool and checks that the database answers.
pub fn connect(url: &DbUrl) -> Result<DbPool, String> {
    connect_counted(url, Arc::default())
}

/// Like [`connect`], counting every query the pool's connections run into `queries`.
pub fn connect_counted(url: &DbUrl, queries: Arc<AtomicU64>) -> Result<DbPool, String> {
    let size = match url {
        DbUrl::Sqlite(_) => 4,
        DbUrl::Postgres(_) => 10,
    };
    r2d2::Pool::builder()
        .max_size(size)
        // One connection up front: it switches a new SQLite file to WAL alone (the mode is
        // persistent), so later connections never race for that lock.
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        // `DbManager::is_valid` tests only connections idle for a while.
        .test_on_check_out(true)
        .connection_customizer(Box::new(OnConnect { queries }))
        .build(DbManager { url: url.clone() })
        .map_err(|e| format!("cannot open the {} database: {e}", url.backend_name()))
}

/// Runs the pending migrations of the connection's backend; returns their names.
pub fn migrate(conn: &mut DbConnection) -> Result<Vec<String>, String> {
    let done = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| format!("migration failed: {e}"))?;
    Ok(done.iter().map(|v| v.to_string()).collect())
}

/// Reverts the newest `n` applied migrations (the benchmark times applying them again to a
/// large database); returns their names.
pub fn revert_last_migrations(conn: &mut DbConnection, n: usize) -> Result<Vec<String>, String> {
    let mut reverted = Vec::with_capacity(n);
    for _ in 0..n {
        let done = match conn {
            DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
            DbConnection::Postgres(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| format!("reverting a migration failed: {e}"))?;
        reverted.push(done.to_string());
    }
    Ok(reverted)
}

/// One SQLite write transaction at a time in this process. SQLite's own wait for its write
/// lock (`busy_timeout`) polls with sleeps of a millisecond and more, so under concurrent
/// writes the lock sat free while the waiters slept; a mutex hands it over at once. Other
/// processes (the CLI's backup, say) still meet `busy_timeout`. No write transaction takes a
/// second pool connection, so holding this cannot deadlock.
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Begins a write transaction: on SQLite the process-wide writer lock (held until the
/// returned guard drops) and `BEGIN IMMEDIATE`; on PostgreSQL a plain `BEGIN`. The one way
/// [`transaction`] and the group-commit writer start.
pub(crate) fn begin(
    conn: &mut DbConnection,
) -> QueryResult<Option<std::sync::MutexGuard<'static, ()>>> {
    use diesel::connection::AnsiTransactionManager;
    match conn {
        DbConnection::Sqlite(c) => {
            let guard = SQLITE_WRITER.lock().unwrap_or_else(|e| e.into_inner());
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            Ok(Some(guard))
        }
        DbConnection::Postgres(_) => {
            <DbConnection as Connection>::TransactionManager::begin_transaction(conn)?;
            Ok(None)
        }
    }
}

/// Commits the transaction [`begin`] started: the one way [`transaction`] and the writer's
/// groups commit. On SQLite the documents the transaction's writes queued for the search
/// index (`search_pending`, filled by triggers) go into it first, in one insert: FTS5
/// writes to disk at every savepoint, and every write in a group has one (migration
/// `search_pending`). Nothing else sees that table, so the index is current at commit.
pub(crate) fn commit(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Sqlite(c) = conn {
        c.batch_execute(
            "INSERT OR REPLACE INTO search_docs (rowid, body) SELECT doc, body FROM search_pending; \
             DELETE FROM search_pending;",
        )?;
    }
    <DbConnection as Connection>::TransactionManager::commit_transaction(conn)
}

/// Runs `work` in a transaction. On SQLite it starts with `BEGIN IMMEDIATE`: a deferred
/// transaction that reads and then writes cannot wait for a concurrent writer (SQLite
/// answers "database is locked" at once), while an immediate one queues on `busy_timeout`.
///
/// Called inside a transaction (a write in the group-commit writer, or a domain function
/// called by another), it joins it: an error must then end that transaction, which every
/// `?` does. That saves two round trips per nested call on PostgreSQL and keeps a group's
/// subtransactions within PostgreSQL's cache of 64. To recover from a failed statement and
/// go on, use [`savepoint`].
pub fn transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    if in_transaction(conn)? {
        return work(conn);
    }
    let _writer = begin(conn)?;
    match work(conn) {
        Ok(value) => {
            if let Err(e) = commit(conn) {
                let _ = Manager::rollback_transaction(conn);
                return Err(E::from(e));
            }
            Ok(value)
        }
        Err(e) => {
            Manager::rollback_transaction(conn).map_err(E::from)?;
            Err(e)
        }
    }
}

/// Keeps SQLite's query planner informed: `PRAGMA optimize` gathers the statistics that
/// let it read a list's page off the index in the list's order rather than sort every
/// match (without them it guesses, and at 10,000 incidents the dashboard's recently
/// resolved list took 7 ms instead of 0.1). `at_start` checks every table, as SQLite
/// advises when a connection opens; later runs redo only what changed a lot. PostgreSQL's
/// autovacuum does this by itself.
pub fn optimize(conn: &mut DbConnection, at_start: bool) -> Result<(), diesel::result::Error> {
    use diesel::connection::SimpleConnection;
    if let DbConnection::Sqlite(c) = conn {
        c.batch_execute(if at_start {
            "PRAGMA optimize = 0x10002"
        } else {
            "PRAGMA optimize"
        })?;
    }
    Ok(())
}

/// Runs reads that must agree with each other (an export read in batches) in one
/// read-only snapshot: a transaction that SQLite's WAL keeps at its first read, and that
/// PostgreSQL runs as `REPEATABLE READ` (its default reads each statement afresh).
pub fn snapshot<T, F>(conn: &mut DbConnection, work: F) -> Result<T, crate::error::AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, crate::error::AppError>,
{
    use diesel::connection::SimpleConnection;
    conn.transaction(|conn| {
        if matches!(conn, DbConnection::Postgres(_)) {
            conn.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        work(conn)
    })
}

/// Runs `work` so that its failure undoes only its own changes and leaves an enclosing
/// transaction usable (PostgreSQL refuses every statement after a failed one otherwise):
/// a savepoint inside a transaction, a transaction outside one.
pub fn savepoint<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    if in_transaction(conn)? {
        conn.transaction(work)
    } else {
        transaction(conn, work)
    }
}

/// Whether `conn` is inside a transaction (diesel's own bookkeeping, no query).
fn in_transaction(conn: &mut DbConnection) -> Result<bool, diesel::result::Error> {
    use diesel::connection::AnsiTransactionManager;
    let depth = match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
        }
        DbConnection::Postgres(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
        }
    };
    Ok(depth.is_some())
}

/// Inserts `rows` (a slice of value tuples) into `table` with multi-row INSERTs, a few
/// hundred rows per statement. diesel's batch insert does not go through the multi-backend
/// connection, so this picks the backend; one statement per row made a 10,000-entry import
/// several times slower.
#[macro_export]
macro_rules! batch_insert {
    ($conn:expr, $table:expr, $rows:expr) => {{
        // SQLite allows 32,766 bound values per statement; rows here have at most 16.
        const ROWS_PER_STATEMENT: usize = 500;
        let mut inserted = 0usize;
        for chunk in $rows.chunks(ROWS_PER_STATEMENT) {
            inserted += match $conn {
                $crate::db::DbConnection::Sqlite(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?
                }
                $crate::db::DbConnection::Postgres(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?
                }
            };
        }
        inserted
    }};
}

/// Backend-independent case-insensitive matching (`lower(x) LIKE lower(pattern)`).
pub mod functions {
    use diesel::sql_types::Text;
    diesel::define_sql_function!(fn lower(x: Text) -> Text);
}

/// The PostgreSQL channel that tells every server who may see what changed.
pub const ACCESS_CHANNEL: &str = "hindsight_access";

/// Notes, in the caller's transaction, that who may see what changed (a restriction or its
/// members, a team's members, a role, a revoked token, an ended session): once it commits,
/// every server's open live streams check their readers again and end for those who lost
/// access. Every function that takes access away calls it.
pub fn access_changed(conn: &mut DbConnection) -> Result<(), crate::error::AppError> {
    if let DbConnection::Postgres(pg) = conn {
        // Delivered at commit, to the other servers and this one's listener alike.
        diesel::sql_query("SELECT pg_notify($1, '')")
            .bind::<diesel::sql_types::Text, _>(ACCESS_CHANNEL)
            .execute(pg)?;
    }
    changed(Change::Access);
    Ok(())
}

/// Escapes `%`, `_` and `\` for a LIKE pattern used with `.escape('\\')`.
pub fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        assert_eq!(
            DbUrl::parse("sqlite://data/h.db").unwrap(),
            DbUrl::Sqlite("data/h.db".into())
        );
        assert_eq!(DbUrl::parse("h.db").unwrap(), DbUrl::Sqlite("h.db".into()));
        assert!(matches!(
            DbUrl::parse("postgres://u:p@h/db").unwrap(),
            DbUrl::Postgres(_)
        ));
        assert!(DbUrl::parse("mysql://x").unwrap_err().contains("mysql"));
        assert!(DbUrl::parse("postgres:typo").is_err());
    }

    #[test]
    fn like_escapes() {
        assert_eq!(like_pattern("50%_A"), "%50\\%\\_a%");
    }
}

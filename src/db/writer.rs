//! Group commit: one thread takes short writes from a queue and commits whatever has
//! queued up in one transaction, each write in its own savepoint (a failing write rolls
//! back alone). SQLite runs one writer at a time anyway; under 32 concurrent appends the
//! profile showed most time going to threads handing the write lock and pool connections to
//! each other and to per-commit WAL writes, which a group pays once. A write's result is
//! delivered only after its group has committed, so an acknowledged write is a durable one.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use diesel::connection::{Connection, SimpleConnection, TransactionManager};

use super::{DbConnection, DbPool};
use crate::error::AppError;

/// Delivers a write's result once its group's fate (commit or not) is known.
type Finish = Box<dyn FnOnce(Result<(), GroupError>) + Send>;

/// Why a group did not commit, as every write in it is told.
#[derive(Clone, Debug)]
enum GroupError {
    /// No connection, or it died: 503, try again.
    Unavailable(String),
    Failed(String),
}

impl GroupError {
    fn of(e: diesel::result::Error) -> GroupError {
        match AppError::from(e) {
            AppError::Unavailable(m) => GroupError::Unavailable(m),
            other => GroupError::Failed(other.to_string()),
        }
    }
}

impl From<GroupError> for AppError {
    fn from(e: GroupError) -> AppError {
        match e {
            GroupError::Unavailable(m) => AppError::Unavailable(m),
            GroupError::Failed(m) => AppError::unexpected(m),
        }
    }
}
type Job = Box<dyn FnOnce(&mut DbConnection) -> Finish + Send>;

/// Writes per group at most (a group holds the write lock while it runs).
const GROUP_MAX: usize = 64;

/// What a committed write changed, for live updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// New events on this incident.
    Incident(crate::ids::IncidentId),
    /// Who may see what: a restriction, a membership, a role, a token or a session ended.
    Access,
}

/// Told, after each group commits, what its writes changed (live updates).
pub type Announce = Box<dyn Fn(Vec<Change>) + Send>;

thread_local! {
    /// What the group being written changed; `Some` only on the writer thread.
    static CHANGED: RefCell<Option<Vec<Change>>> = const { RefCell::new(None) };
}

/// Notes what the write being run changed, to be announced once its group has committed
/// (announcing earlier would send readers looking for rows not yet visible). Outside the
/// writer thread (the CLI, start-up) it does nothing.
pub fn changed(change: Change) {
    CHANGED.with(|c| {
        if let Some(all) = c.borrow_mut().as_mut() {
            all.push(change);
        }
    });
}

pub struct Writer {
    queue: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    /// Lets the queued writes finish and waits for the thread, so that no connection of
    /// its pool outlives the server (a live libpq connection at process exit has crashed
    /// the test binary before).
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Writer {
    /// Starts the writer thread; it ends when the `Writer` is dropped.
    pub fn start(pool: DbPool, announce: Option<Announce>) -> Result<Writer, String> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || run(pool, jobs, announce))
            .map_err(|e| format!("cannot start the database writer: {e}"))?;
        Ok(Writer {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Queues `work` (short, writes only this database) and waits until its group commits.
    pub async fn write<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = alone(conn, work);
            Box::new(move |group: Result<(), GroupError>| {
                let _ = done.send(group.map_err(AppError::from).and(outcome));
            })
        });
        self.queue
            .as_ref()
            .and_then(|q| q.send(job).ok())
            .ok_or_else(|| AppError::unexpected("the database writer has stopped"))?;
        result
            .await
            .map_err(|_| AppError::unexpected("a write failed inside the database writer"))?
    }
}

/// Runs one write of a group under a savepoint of its own, so that its error undoes it and
/// not the group. The savepoint is never released: PostgreSQL keeps every one until the
/// commit either way (released, its changes still belong to a subtransaction), and leaving
/// out `RELEASE` saves a round trip per write. Domain code's own `db::transaction` inside
/// joins this savepoint instead of opening another.
fn alone<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    conn.batch_execute("SAVEPOINT write")?;
    let outcome = work(conn);
    if outcome.is_err() {
        conn.batch_execute("ROLLBACK TO SAVEPOINT write")?;
    }
    outcome
}

fn run(pool: DbPool, jobs: mpsc::Receiver<Job>, announce: Option<Announce>) {
    CHANGED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut finishes = Vec::with_capacity(group.len());
        let outcome = commit_group(&pool, group, &mut finishes);
        if let Err(e) = &outcome {
            // Every write of the group hears of it; the cause is logged once, here.
            tracing::error!(error = ?e, writes = finishes.len(), "database writer: a group did not commit");
        }
        let changed = CHANGED.with(|c| c.borrow_mut().replace(Vec::new()).unwrap_or_default());
        if let (Some(announce), true) = (&announce, outcome.is_ok() && !changed.is_empty()) {
            announce(changed);
        }
        for finish in finishes {
            finish(outcome.clone());
        }
    }
}

/// Runs a group in one transaction; the jobs' result deliverers go into `finishes`.
fn commit_group(
    pool: &DbPool,
    group: Vec<Job>,
    finishes: &mut Vec<Finish>,
) -> Result<(), GroupError> {
    let mut conn = pool
        .get()
        .map_err(|e| GroupError::Unavailable(e.to_string()))?;
    let conn: &mut DbConnection = &mut conn;
    // SQLite: the process-wide writer lock, then the write lock up front (see
    // `db::transaction`). PostgreSQL: a plain transaction; the group saves a WAL flush per
    // write, and writes to one incident no longer queue on its row lock one flush at a time.
    let postgres = matches!(conn, DbConnection::Postgres(_));
    let _writer = super::begin(conn).map_err(|e| {
        if postgres {
            // A connection that cannot begin is one the database dropped.
            GroupError::Unavailable(e.to_string())
        } else {
            GroupError::of(e)
        }
    })?;
    for job in group {
        match catch_unwind(AssertUnwindSafe(|| job(conn))) {
            Ok(finish) => finishes.push(finish),
            Err(_) => {
                // The connection's state is unknown after a panic: undo the whole group.
                let _ =
                    <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
                return Err(GroupError::Failed(
                    "a write panicked; its group was rolled back".into(),
                ));
            }
        }
    }
    super::commit(conn).map_err(|e| {
        let _ = <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
        GroupError::of(e)
    })
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;
    use crate::db::{self, DbUrl};

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn services_named(conn: &mut DbConnection, prefix: &str) -> i64 {
        diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM services WHERE name LIKE '{prefix}%'"
        ))
        .get_result::<Count>(conn)
        .unwrap()
        .n
    }

    fn insert(conn: &mut DbConnection, name: &str) -> Result<usize, AppError> {
        Ok(diesel::sql_query(format!(
            "INSERT INTO services (name, created_at) VALUES ('{name}', '2024-01-01 00:00:00')"
        ))
        .execute(conn)?)
    }

    #[actix_web::test]
    async fn a_failing_write_rolls_back_alone_and_a_panic_fails_only_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let url = DbUrl::Sqlite(dir.path().join("w.db").to_string_lossy().into_owned());
        let pool = db::connect(&url).unwrap();
        db::migrate(&mut pool.get().unwrap()).unwrap();
        let writer = Writer::start(pool.clone(), None).unwrap();
        // Many at once so that they share groups.
        let results = futures_util::future::join_all((0..40).map(|i| {
            writer.write(move |conn| {
                insert(conn, &format!("ok-{i}"))?;
                if i % 4 == 0 {
                    insert(conn, &format!("undone-{i}"))?;
                    return Err(AppError::invalid("x", "refused"));
                }
                Ok(i)
            })
        }))
        .await;
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.is_ok(), i % 4 != 0, "{i}: {r:?}");
        }
        let mut conn = pool.get().unwrap();
        assert_eq!(
            services_named(&mut conn, "ok-"),
            30,
            "failed writes left nothing"
        );
        assert_eq!(services_named(&mut conn, "undone-"), 0);
        drop(conn);

        let panicked = writer
            .write(|conn| -> Result<(), AppError> {
                insert(conn, "before-panic")?;
                panic!("a bug in a write");
            })
            .await;
        assert!(panicked.is_err());
        let after = writer.write(|conn| insert(conn, "after-panic")).await;
        assert!(after.is_ok(), "the writer goes on: {after:?}");
        let mut conn = pool.get().unwrap();
        assert_eq!(services_named(&mut conn, "before-panic"), 0);
        assert_eq!(services_named(&mut conn, "after-panic"), 1);
    }
}

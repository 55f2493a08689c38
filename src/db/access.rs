//! [`Db`], the one way handlers reach the database: [`Db::read`] and [`Db::write`].
//!
//! Both take synchronous work on a connection and run it off the async workers. How is
//! this module's business: a read on SQLite runs at once on the calling thread when a pool
//! connection is free (WAL readers never wait for the writer, and for a lookup of
//! microseconds the hop to the blocking pool and back was the largest cost in the profile of
//! the append load); a write goes through the group-commit [`Writer`], which commits the
//! writes queued meanwhile in one transaction, each in its own savepoint, and answers only
//! after the commit.

use std::sync::Arc;

use super::writer::{Announce, Writer};
use super::{DbConnection, DbPool};
use crate::error::AppError;

/// The shared database handle: a pool and its group-commit writer.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    writer: Arc<Writer>,
    sqlite: bool,
}

impl Db {
    /// Starts the writer thread over `pool`; it stops when the last handle is dropped.
    pub fn new(pool: DbPool, sqlite: bool) -> Result<Db, String> {
        Db::announcing(pool, sqlite, None)
    }

    /// Like [`Db::new`]; after each commit, `announce` hears which incidents changed.
    pub fn announcing(
        pool: DbPool,
        sqlite: bool,
        announce: Option<Announce>,
    ) -> Result<Db, String> {
        let writer = Arc::new(Writer::start(pool.clone(), announce)?);
        Ok(Db {
            pool,
            writer,
            sqlite,
        })
    }

    /// Runs `work`, which only reads. Keep it short when it can be: on SQLite it may run
    /// on the calling worker thread.
    pub async fn read<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        if self.sqlite {
            if let Some(mut conn) = self.pool.try_get() {
                return work(&mut conn);
            }
        }
        blocking(&self.pool, work).await
    }

    /// Runs `work` as one write: it sees its own changes, and they are all committed or
    /// none are. Everything in it runs on the one writer thread, so hash passwords and do
    /// other slow work before calling this.
    pub async fn write<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.write(work).await
    }

    /// The pool, for what runs outside requests (start-up, the webhook worker, metrics).
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }
}

/// Runs synchronous database work on the async runtime's blocking pool.
async fn blocking<T, F>(pool: &DbPool, work: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        work(&mut conn)
    })
    .await
    .map_err(AppError::unexpected)?
}

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

use actix_web::web::Bytes;

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

    /// Runs `work` on the blocking pool with a connection of its own, and answers at once
    /// with what it sends through its [`Sink`] as a response body: for exports too large to
    /// build before the first byte. The work stops at its next send once the client is gone;
    /// an error after the first byte ends the body early (the client sees it cut short).
    pub fn stream<F>(&self, work: F) -> impl futures_util::Stream<Item = Result<Bytes, AppError>>
    where
        F: FnOnce(&mut DbConnection, &mut Sink) -> Result<(), AppError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, AppError>>(4);
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut sink = Sink {
                tx: tx.clone(),
                buf: Vec::with_capacity(Sink::FLUSH_AT),
                gone: false,
            };
            let done = pool
                .get()
                .map_err(AppError::from)
                .and_then(|mut conn| work(&mut conn, &mut sink))
                .and_then(|()| sink.flush_out());
            // A client that left is not an error worth telling anyone.
            if let (Err(e), false) = (done, sink.gone) {
                let _ = tx.blocking_send(Err(e));
            }
        });
        futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
    }

    /// The pool, for what runs outside requests (start-up, the webhook worker, metrics).
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }
}

/// Where [`Db::stream`]'s work writes: buffered, and handed on in pieces of about 64 KiB
/// (at most four waiting), so a slow client slows the export instead of filling memory.
pub struct Sink {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, AppError>>,
    buf: Vec<u8>,
    gone: bool,
}

impl Sink {
    const FLUSH_AT: usize = 64 * 1024;

    /// Sends what is buffered; an error once nobody reads.
    fn flush_out(&mut self) -> Result<(), AppError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.buf, Vec::with_capacity(Self::FLUSH_AT));
        if self.tx.blocking_send(Ok(Bytes::from(piece))).is_err() {
            self.gone = true;
            return Err(AppError::BadRequest(
                "the client closed the connection".into(),
            ));
        }
        Ok(())
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= Self::FLUSH_AT {
            self.flush_out()
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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

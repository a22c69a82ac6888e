//! Single statements outside a transaction, on connections the service pools itself.
//!
//! sqlx's pool checks every connection when it comes back, from a task of its own: a ping, one
//! more trip to the Postgres server or to the SQLite connection's thread for every query, with
//! no setting to turn it off. The check is there because a query dropped half way (its request
//! cancelled) can leave a connection in the middle of a reply. Here a connection goes back only
//! when its statement ran to the end, which needs no check; one dropped half way, or one that
//! failed for any reason but the database refusing the statement, is closed instead. A
//! connection idle for [`PING_AFTER_IDLE`] is checked before it is used, as the pool does.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use sqlx::{AnyConnection, Connection as _, any::AnyConnectOptions};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::{Attached, Backend, PING_AFTER_IDLE, tune_sqlite};

/// How long a statement waits for a connection before it fails (as the pool's acquire does).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) struct DirectPool {
    /// Connections not in use, with the moment each came back; the last one back goes out first
    /// (its caches are warm).
    idle: Mutex<Vec<(AnyConnection, Instant)>>,
    /// One permit per connection that may be open.
    permits: Semaphore,
    options: AnyConnectOptions,
    backend: Backend,
    attached: Attached,
}

impl std::fmt::Debug for DirectPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectPool")
            .field("backend", &self.backend)
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// A connection in use; dropped before [`Lease::give_back`], it closes the connection.
pub(super) struct Lease<'p> {
    pub(super) conn: AnyConnection,
    pool: &'p DirectPool,
    _permit: SemaphorePermit<'p>,
}

impl Lease<'_> {
    /// Returns the connection when `result` shows its statement ran to the end (or the
    /// database refused it, which leaves the connection ready for the next); closes it
    /// otherwise.
    pub(super) fn give_back<T>(self, result: &Result<T, sqlx::Error>) {
        if matches!(result, Ok(_) | Err(sqlx::Error::Database(_))) {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.push((self.conn, Instant::now()));
        }
    }
}

impl DirectPool {
    pub(super) fn new(
        options: AnyConnectOptions,
        backend: Backend,
        max_connections: u32,
        attached: Attached,
    ) -> Self {
        Self {
            idle: Mutex::default(),
            permits: Semaphore::new(max_connections.max(1) as usize),
            options,
            backend,
            attached,
        }
    }

    /// (in use, idle) connections, for metrics.
    pub(super) fn counts(&self, max: usize) -> (usize, usize) {
        let idle = self.idle.lock().map_or(0, |idle| idle.len());
        (max.saturating_sub(self.permits.available_permits()), idle)
    }

    pub(super) async fn lease(&self) -> Result<Lease<'_>, sqlx::Error> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        loop {
            let next = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let conn = match next {
                Some((mut conn, since)) => {
                    if since.elapsed() >= PING_AFTER_IDLE && conn.ping().await.is_err() {
                        continue;
                    }
                    conn
                }
                None => {
                    let mut conn = AnyConnection::connect_with(&self.options).await?;
                    if self.backend == Backend::Sqlite {
                        tune_sqlite(&mut conn, 0, &self.attached).await?;
                    }
                    conn
                }
            };
            return Ok(Lease {
                conn,
                pool: self,
                _permit: permit,
            });
        }
    }
}

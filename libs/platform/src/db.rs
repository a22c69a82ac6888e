//! One database handle for both backends.
//!
//! `DATABASE_URL` picks SQLite (`sqlite://path`, file created when missing, WAL, busy
//! timeout, foreign keys on) or Postgres (`postgres://…`). Queries go through sqlx's `Any`
//! driver, so the schema is portable: ids are TEXT, timestamps BIGINT unix milliseconds,
//! booleans INTEGER 0/1, and placeholders `$1..$N`. Each service keeps one migrations folder
//! per backend; [`Db::connect`] applies the right one before the service takes traffic.

use std::{str::FromStr, sync::Arc, time::Duration};

use anyhow::Context as _;
use futures_util::future::BoxFuture;
use sqlx::{
    AnyPool, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
};

use crate::health::{CheckOutcome, HealthCheck};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The migrations of one service, for each backend.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// SQLite takes one writer at a time, and a writer that finds the database locked sleeps
    /// in steps of up to 100 ms (`busy_timeout`) before it tries again: under concurrent writes
    /// that turns into a long tail. Writers of this process queue here instead, in order.
    writer: Arc<tokio::sync::Mutex<()>>,
}

/// A write transaction from [`Db::begin_write`]; it derefs to the sqlx transaction.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::Transaction<'static, sqlx::Any>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl Db {
    /// Connects, tunes SQLite, and applies migrations.
    pub async fn connect(
        url: &str,
        migrations: Migrations,
        max_connections: u32,
    ) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let file = path.split('?').next().unwrap_or(path);
            if !file.is_empty()
                && file != ":memory:"
                && let Some(parent) = std::path::Path::new(file).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating the folder for {file}"))?;
            }
            let url = if url.contains("mode=") {
                url.to_owned()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_owned())
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres:");
        };
        let options = AnyConnectOptions::from_str(&url).context("parsing DATABASE_URL")?;
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5));
        if backend == Backend::Sqlite {
            pool_options = pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options
            .connect_with(options)
            .await
            .context("connecting to the database")?;
        let migrator = match backend {
            Backend::Sqlite => migrations.sqlite,
            Backend::Postgres => migrations.postgres,
        };
        migrator.run(&pool).await.context("applying migrations")?;
        Ok(Self {
            pool,
            backend,
            writer: Arc::default(),
        })
    }

    /// Begins a transaction that will write. On SQLite it first waits for this process's
    /// previous writers, in arrival order (see [`Db::writer`](Self)); Postgres writers run
    /// concurrently and lock rows.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let turn = match self.backend {
            Backend::Sqlite => Some(self.writer.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        Ok(WriteTx {
            tx: self.pool.begin().await?,
            _turn: turn,
        })
    }

    /// True when a unique constraint rejected a write.
    pub fn is_unique_violation(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
    }
}

/// Milliseconds since the Unix epoch, the portable timestamp stored in every table.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Health: the database answers a trivial query. Critical: it decides readiness.
pub struct DbCheck(pub Db);

impl HealthCheck for DbCheck {
    fn name(&self) -> &str {
        "database"
    }
    fn critical(&self) -> bool {
        true
    }
    fn check(&self) -> BoxFuture<'_, CheckOutcome> {
        Box::pin(async {
            match sqlx::query("SELECT 1").execute(&self.0.pool).await {
                Ok(_) => CheckOutcome::pass(format!("{:?} answers", self.0.backend)),
                Err(e) => {
                    tracing::warn!(error = %e, "database health check failed");
                    CheckOutcome::fail("database unreachable")
                }
            }
        })
    }
}

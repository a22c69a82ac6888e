//! One database handle for both backends.
//!
//! `DATABASE_URL` picks SQLite (`sqlite://path`, file created when missing, WAL, busy
//! timeout, foreign keys on) or Postgres (`postgres://…`). Queries go through sqlx's `Any`
//! driver, so the schema is portable: ids are TEXT, timestamps BIGINT unix milliseconds,
//! booleans INTEGER 0/1, and placeholders `$1..$N`. Each service keeps one migrations folder
//! per backend; [`Db::connect`] applies the right one before the service takes traffic.

use std::{str::FromStr, sync::Arc, time::Duration};

use anyhow::Context as _;
use futures_util::{TryStreamExt as _, future::BoxFuture};
use sqlx::{
    Any, AnyPool, Executor,
    any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyQueryResult},
    migrate::Migrator,
    pool::PoolConnection,
    query::Query,
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
    /// that turns into a long tail. Writers of this process queue here instead, in order, and
    /// all use the one connection of `write_pool`, whose page cache then stays warm (another
    /// connection's cache is dropped whenever someone else has written).
    writer: Arc<tokio::sync::Mutex<()>>,
    write_pool: Option<AnyPool>,
}

/// A value bound to a dynamically built query.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
    Null,
}

/// Binds `args` in order to `sql`.
pub fn query_with(sql: &str, args: Vec<Arg>) -> Query<'_, Any, AnyArguments<'_>> {
    args.into_iter()
        .fold(sqlx::query(sql), |query, arg| match arg {
            Arg::Text(s) => query.bind(s),
            Arg::Int(i) => query.bind(i),
            Arg::Null => query.bind(None::<String>),
        })
}

/// Collects arguments and hands out their `$N` placeholders.
#[derive(Debug, Default)]
pub struct Args(pub Vec<Arg>);

impl Args {
    pub fn push(&mut self, arg: Arg) -> String {
        self.0.push(arg);
        format!("${}", self.0.len())
    }
}

/// A write transaction from [`Db::begin_write`]. Statements whose result the caller does not
/// need are [queued](Self::queue) and go out with the next [`execute`](Self::execute) or the
/// [`commit`](Self::commit).
///
/// On SQLite that is the point: every statement is a trip to sqlx's connection thread and
/// back, and the next writer waits for all of them. So the first trip carries
/// `BEGIN IMMEDIATE`, everything queued goes in one script, and the commit rides with the last
/// statements: a create is one trip instead of five. On Postgres the statements run one by
/// one in an ordinary transaction.
///
/// A failed statement ends the transaction: everything is rolled back. Dropped without
/// `commit` or `rollback` (a cancelled request), it rolls back too: Postgres through sqlx,
/// SQLite by closing the connection, which discards what it began.
pub struct WriteTx {
    inner: WriteInner,
    queued: Vec<(String, Vec<Arg>)>,
}

enum WriteInner {
    Sqlite(SqliteWrite),
    Postgres(sqlx::Transaction<'static, Any>),
}

struct SqliteWrite {
    conn: PoolConnection<Any>,
    /// `BEGIN IMMEDIATE` has been sent (or may have been, if a trip was cut short).
    begun: bool,
    /// Committed or rolled back: nothing to undo on drop.
    done: bool,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    /// Adds a statement to run, in order, with the next trip to the database.
    pub fn queue(&mut self, sql: impl Into<String>, args: Vec<Arg>) {
        self.queued.push((sql.into(), args));
    }

    /// Runs what is queued, then `sql`; returns the rows `sql` changed.
    pub async fn execute(
        &mut self,
        sql: impl Into<String>,
        args: Vec<Arg>,
    ) -> Result<u64, sqlx::Error> {
        self.queue(sql, args);
        let changed = self.flush(false).await?;
        Ok(changed.last().copied().unwrap_or(0))
    }

    /// Runs what is queued and commits.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.flush(true).await?;
        match self.inner {
            WriteInner::Sqlite { .. } => Ok(()),
            WriteInner::Postgres(tx) => tx.commit().await,
        }
    }

    /// Undoes everything this transaction did; queued statements never run.
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.queued.clear();
        match &mut self.inner {
            WriteInner::Sqlite(w) => {
                if w.begun {
                    w.conn.execute("ROLLBACK").await?;
                }
                w.done = true;
                Ok(())
            }
            // Dropping an open sqlx transaction rolls it back.
            WriteInner::Postgres(_) => Ok(()),
        }
    }

    /// Sends the queued statements (and `COMMIT` if `commit`); the rows each one changed.
    async fn flush(&mut self, commit: bool) -> Result<Vec<u64>, sqlx::Error> {
        let statements = std::mem::take(&mut self.queued);
        match &mut self.inner {
            WriteInner::Postgres(tx) => {
                let mut changed = Vec::with_capacity(statements.len());
                for (sql, args) in statements {
                    changed.push(
                        query_with(&sql, args)
                            .execute(&mut **tx)
                            .await?
                            .rows_affected(),
                    );
                }
                Ok(changed)
            }
            WriteInner::Sqlite(SqliteWrite {
                conn, begun, done, ..
            }) => {
                let mut script = String::new();
                let mut all_args = Vec::new();
                let lead = usize::from(!*begun);
                if !*begun {
                    script.push_str("BEGIN IMMEDIATE;\n");
                }
                let count = statements.len();
                for (sql, args) in statements {
                    script.push_str(&renumber(&sql, all_args.len()));
                    script.push_str(";\n");
                    all_args.extend(args);
                }
                if commit {
                    script.push_str("COMMIT;");
                }
                if script.is_empty() {
                    return Ok(Vec::new());
                }
                *begun = true;
                // Several statements in one prepared query: sqlx 0.8 supports it for SQLite only
                // and deprecates it (sqlx issue 3108; 0.9 drops it), binding `$N` across all
                // of them. Moving to 0.9 means SQLite triggers or a native connection here.
                #[allow(deprecated)]
                let run = query_with(&script, all_args)
                    .execute_many(&mut **conn)
                    .await
                    .try_collect::<Vec<AnyQueryResult>>()
                    .await;
                let results = match run {
                    Ok(results) => results,
                    Err(e) => {
                        // An error ends the transaction, as it does on Postgres. If even the
                        // rollback fails, dropping closes the connection.
                        *done = conn.execute("ROLLBACK").await.is_ok();
                        return Err(e);
                    }
                };
                if commit {
                    *done = true;
                }
                Ok(results
                    .iter()
                    .skip(lead)
                    .take(count)
                    .map(AnyQueryResult::rows_affected)
                    .collect())
            }
        }
    }
}

impl Drop for SqliteWrite {
    fn drop(&mut self) {
        if self.begun && !self.done {
            // Closing a SQLite connection rolls back what it began; the next writer opens a
            // new one (and waits on `busy_timeout` while this one closes).
            self.conn.close_on_drop();
        }
    }
}

/// `sql` with each placeholder `$N` renumbered to `$(N + offset)`, so that statements built
/// on their own can share one script's arguments. The service's SQL has no `$` in literals.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
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
        let pool = sqlite_tuned(backend, AnyPoolOptions::new(), 0)
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await
            .context("connecting to the database")?;
        let migrator = match backend {
            Backend::Sqlite => migrations.sqlite,
            Backend::Postgres => migrations.postgres,
        };
        migrator.run(&pool).await.context("applying migrations")?;
        let write_pool = match backend {
            // The writers' connection keeps a larger page cache: it walks every index a write
            // touches, and nobody else's writes invalidate it.
            Backend::Sqlite => Some(
                sqlite_tuned(backend, AnyPoolOptions::new(), 32 * 1024)
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .context("connecting to the database")?,
            ),
            Backend::Postgres => None,
        };
        Ok(Self {
            pool,
            backend,
            writer: Arc::default(),
            write_pool,
        })
    }

    /// Begins a transaction that will write. On SQLite it first waits for this process's
    /// previous writers, in arrival order (see [`Db::writer`](Self)); Postgres writers run
    /// concurrently and lock rows.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let inner = match &self.write_pool {
            Some(write_pool) => {
                let turn = self.writer.clone().lock_owned().await;
                WriteInner::Sqlite(SqliteWrite {
                    conn: write_pool.acquire().await?,
                    begun: false,
                    done: false,
                    _turn: turn,
                })
            }
            None => WriteInner::Postgres(self.pool.begin().await?),
        };
        Ok(WriteTx {
            inner,
            queued: Vec::new(),
        })
    }

    /// True when a unique constraint rejected a write.
    pub fn is_unique_violation(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
    }
}

/// SQLite connections: WAL, `synchronous = NORMAL`, a busy timeout, foreign keys, and a page
/// cache of `cache_kib` KiB (0: SQLite's default). Other backends: `options` as they are.
fn sqlite_tuned(backend: Backend, options: AnyPoolOptions, cache_kib: u32) -> AnyPoolOptions {
    if backend != Backend::Sqlite {
        return options;
    }
    options.after_connect(move |conn, _meta| {
        Box::pin(async move {
            conn.execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
            )
            .await?;
            if cache_kib > 0 {
                conn.execute(format!("PRAGMA cache_size = -{cache_kib}").as_str())
                    .await?;
            }
            Ok(())
        })
    })
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

#[cfg(test)]
mod tests {
    use sqlx::Row as _;

    use super::*;

    static NO_MIGRATIONS: Migrator = Migrator::DEFAULT;
    const NONE: Migrations = Migrations {
        sqlite: &NO_MIGRATIONS,
        postgres: &NO_MIGRATIONS,
    };

    #[test]
    fn renumber_shifts_every_placeholder() {
        assert_eq!(
            renumber("UPDATE t SET a = $1, b = $12 WHERE c = $2", 3),
            "UPDATE t SET a = $4, b = $15 WHERE c = $5"
        );
        assert_eq!(renumber("SELECT $1", 0), "SELECT $1");
        assert_eq!(renumber("SELECT 'a$' || $1", 1), "SELECT 'a$' || $2");
    }

    async fn sqlite() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url, NONE, 4).await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
            .execute(&db.pool)
            .await
            .unwrap();
        (dir, db)
    }

    async fn rows(db: &Db) -> Vec<(String, i64)> {
        sqlx::query("SELECT k, v FROM t ORDER BY k")
            .fetch_all(&db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }

    const INSERT: &str = "INSERT INTO t (k, v) VALUES ($1, $2)";

    fn kv(k: &str, v: i64) -> Vec<Arg> {
        vec![Arg::Text(k.into()), Arg::Int(v)]
    }

    #[tokio::test]
    async fn queued_statements_run_in_order_and_commit_together() {
        let (_dir, db) = sqlite().await;
        let mut tx = db.begin_write().await.unwrap();
        tx.queue(INSERT, kv("a", 1));
        tx.queue(INSERT, kv("b", 2));
        // The third statement: its `$1` and `$2` are the script's `$5` and `$6`.
        let changed = tx
            .execute(
                "UPDATE t SET v = v * $1 WHERE k <> $2",
                vec![Arg::Int(10), Arg::Text("b".into())],
            )
            .await;
        assert_eq!(changed.unwrap(), 1);
        assert!(
            rows(&db).await.is_empty(),
            "nothing is visible before the commit"
        );
        tx.queue(INSERT, kv("c", 3));
        tx.commit().await.unwrap();
        assert_eq!(
            rows(&db).await,
            [("a".into(), 10), ("b".into(), 2), ("c".into(), 3)]
        );
    }

    #[tokio::test]
    async fn a_failed_statement_or_a_dropped_transaction_leaves_nothing_behind() {
        let (_dir, db) = sqlite().await;
        // The second statement breaks the primary key: the first one goes too.
        let mut tx = db.begin_write().await.unwrap();
        tx.queue(INSERT, kv("a", 1));
        tx.queue(INSERT, kv("a", 2));
        assert!(tx.commit().await.is_err());
        // Begun, then dropped (as when a request is cancelled): rolled back.
        let mut tx = db.begin_write().await.unwrap();
        tx.execute(INSERT, kv("b", 1)).await.unwrap();
        drop(tx);
        // Explicitly rolled back.
        let mut tx = db.begin_write().await.unwrap();
        tx.execute(INSERT, kv("c", 1)).await.unwrap();
        tx.rollback().await.unwrap();
        assert!(rows(&db).await.is_empty());
        // And the next writer works.
        let mut tx = db.begin_write().await.unwrap();
        tx.queue(INSERT, kv("d", 4));
        tx.commit().await.unwrap();
        assert_eq!(rows(&db).await, [("d".into(), 4)]);
    }
}

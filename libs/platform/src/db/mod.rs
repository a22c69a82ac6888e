//! One database handle for both backends.
//!
//! `DATABASE_URL` picks SQLite (`sqlite://path`, file created when missing, WAL, busy
//! timeout, foreign keys on) or Postgres (`postgres://…`). Queries go through sqlx's `Any`
//! driver, so the schema is portable: ids are TEXT, timestamps BIGINT unix milliseconds,
//! booleans INTEGER 0/1, and placeholders `$1..$N`. Each service keeps one migrations folder
//! per backend; [`Db::connect`] applies the right one before the service takes traffic, or,
//! with [`Schema::RequireCurrent`] (production: `MIGRATE_ON_START=false`, the schema changed
//! by a one-off `migrate` task before the deploy), checks that every migration of this build
//! has been applied and refuses to start otherwise. Either way a service never serves on a
//! schema older than its code.

use std::{str::FromStr, sync::Arc, time::Duration};

use anyhow::Context as _;
use futures_util::future::BoxFuture;
use sqlx::{
    Any, AnyPool, Connection as _, Executor,
    any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyQueryResult, AnyRow},
    migrate::Migrator,
    query::Query,
};

use crate::{
    config::{ConfigError, Source},
    health::{CheckOutcome, HealthCheck},
};

mod direct;
mod write;

use direct::DirectPool;
use write::SqliteWriter;
pub use write::WriteTx;

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
    /// Connections for single statements outside a transaction (see [`direct`]); only in a
    /// handle opened with [`Db::open_attaching`] (the tickets service's).
    direct: Option<Arc<DirectPool>>,
    /// SQLite's one writer (see [`write`]); only beside `direct`.
    writer: Option<SqliteWriter>,
    /// `DB_MAX_CONNECTIONS`: every connection this handle opens, counted together.
    max_connections: u32,
}

/// How a handle shares out `DB_MAX_CONNECTIONS`, so that it opens no more connections than
/// that in all. A handle of [`Db::connect`] / [`Db::open_with`] (auth, attachments) gives
/// them all to its pool. One of [`Db::open_attaching`] (the tickets service) also has
/// statement connections and, on SQLite, a writer: on SQLite one connection goes to the
/// pool (migrations, health), one to the writer, one to the search index's writer (the
/// tickets service's own connection) and the rest to statements; on Postgres half (rounded
/// up) to the pool, for transactions, and the rest to statements. Below 4 on SQLite (2 on
/// Postgres) each still gets one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The sqlx pool.
    pub pool: u32,
    /// Statement connections ([`direct`]); 0 for a pool-only handle.
    pub statements: u32,
}

impl Budget {
    /// A pool-only handle's share: everything to the pool.
    pub fn pool_only(max: u32) -> Self {
        Self {
            pool: max.max(1),
            statements: 0,
        }
    }

    /// The share of a handle with statement connections on `backend`.
    pub fn with_statements(backend: Backend, max: u32) -> Self {
        match backend {
            Backend::Sqlite => Self {
                pool: 1,
                statements: max.saturating_sub(3).max(1),
            },
            Backend::Postgres => {
                let pool = max.div_ceil(2).max(1);
                Self {
                    pool,
                    statements: max.saturating_sub(pool).max(1),
                }
            }
        }
    }
}

/// What the two pools hold at one moment (`/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolCounts {
    /// Every connection the handle may open, together (`DB_MAX_CONNECTIONS`, see [`Budget`]).
    pub max: u32,
    /// The sqlx pool, for transactions: connections open, and of those idle.
    pub transactions_open: u32,
    pub transactions_idle: u32,
    /// Single statements ([`direct`]): connections in use, and idle ones kept open.
    pub statements_in_use: u32,
    pub statements_idle: u32,
}

/// SQLite: other database files every reading connection attaches, as (schema name, path).
type Attached = Arc<[(String, String)]>;

/// What opening the database does about the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Apply this build's pending migrations (the laptop and compose default).
    Migrate,
    /// Apply nothing; fail unless every migration of this build is already applied. Versions
    /// newer than this build are accepted: during a rolling deploy the old tasks keep running
    /// (and may restart) after the new build's migrations ran.
    RequireCurrent,
}

impl Schema {
    /// `MIGRATE_ON_START` as a choice.
    pub fn on_start(migrate_on_start: bool) -> Self {
        if migrate_on_start {
            Self::Migrate
        } else {
            Self::RequireCurrent
        }
    }
}

/// The database settings every service with a database reads: `DB_MAX_CONNECTIONS` and
/// `MIGRATE_ON_START`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbOptions {
    /// Every connection a task opens to its database, together: auth and attachments give
    /// them all to the pool, the tickets service shares them out (see [`Budget`]).
    /// Production sizes it so every task of every service fits the instance's
    /// `max_connections` during a deploy (docs/deploy.md).
    pub max_connections: u32,
    pub schema: Schema,
}

impl DbOptions {
    pub fn from_source(source: &Source) -> Result<Self, ConfigError> {
        let max_connections = source.parse("DB_MAX_CONNECTIONS", 10u32)?;
        if max_connections == 0 {
            return Err(ConfigError::new("DB_MAX_CONNECTIONS", "must be positive"));
        }
        Ok(Self {
            max_connections,
            schema: Schema::on_start(source.bool("MIGRATE_ON_START", true)?),
        })
    }
}

/// What [`Db::migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    /// The versions this run applied, oldest first (empty: the schema was already current).
    pub applied: Vec<i64>,
    /// The newest version now applied.
    pub current: Option<i64>,
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

impl Db {
    /// Connects, tunes SQLite, and applies migrations.
    pub async fn connect(
        url: &str,
        migrations: Migrations,
        max_connections: u32,
    ) -> anyhow::Result<Self> {
        Self::open(
            url,
            migrations,
            max_connections,
            None,
            Schema::Migrate,
            true,
        )
        .await
    }

    /// Applies this build's pending migrations and closes the connection: the `migrate`
    /// command each service has, run once per deploy before the new tasks start. A database
    /// already at a later build's schema (a rollback) is left alone when it holds every
    /// migration of this build.
    pub async fn migrate(url: &str, migrations: Migrations) -> anyhow::Result<MigrateReport> {
        let db = Self::open(url, migrations, 1, None, Schema::RequireCurrent, false).await?;
        let migrator = db.migrator(migrations);
        let before = applied_versions(&db.pool, db.backend).await?;
        let newer = before
            .iter()
            .any(|(v, _)| !migrator.iter().any(|m| m.version == *v));
        if newer {
            // A rollback: the database has migrations of a later build. That schema serves
            // this build (migrations only add), so nothing is applied, provided this build's
            // own migrations are all there; sqlx's `run` would refuse the unknown versions.
            require_current(&db.pool, db.backend, migrator).await?;
        } else {
            migrator
                .run(&db.pool)
                .await
                .context("applying migrations")?;
        }
        let after = applied_versions(&db.pool, db.backend).await?;
        db.pool.close().await;
        let applied = after
            .iter()
            .map(|(v, _)| *v)
            .filter(|v| !before.iter().any(|(b, _)| b == v))
            .collect();
        Ok(MigrateReport {
            applied,
            current: after.iter().map(|(v, _)| *v).max(),
        })
    }

    /// [`Db::connect_attaching`] with a choice of what to do about the schema.
    pub async fn open_attaching(
        url: &str,
        migrations: Migrations,
        max_connections: u32,
        attach: &[(&str, &str)],
        schema: Schema,
    ) -> anyhow::Result<Self> {
        Self::open(url, migrations, max_connections, Some(attach), schema, true).await
    }

    /// [`Db::connect`] with a choice of what to do about the schema.
    pub async fn open_with(
        url: &str,
        migrations: Migrations,
        max_connections: u32,
        schema: Schema,
    ) -> anyhow::Result<Self> {
        Self::open(url, migrations, max_connections, None, schema, true).await
    }

    fn migrator(&self, migrations: Migrations) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => migrations.sqlite,
            Backend::Postgres => migrations.postgres,
        }
    }

    /// [`Db::connect`] for a handle with statement connections ([`Db::fetch_all`]) and, on
    /// SQLite, the one writer ([`Db::begin_write`]), sharing `max_connections` as [`Budget`]
    /// says. On SQLite every connection that reads (the pool's and the statement
    /// connections, not the writer's) also attaches each `(schema, path)` of `attach`, created
    /// empty if missing, so that its queries can join tables of both files. Ignored on
    /// Postgres.
    pub async fn connect_attaching(
        url: &str,
        migrations: Migrations,
        max_connections: u32,
        attach: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::open(
            url,
            migrations,
            max_connections,
            Some(attach),
            Schema::Migrate,
            true,
        )
        .await
    }

    /// Opens the pools; `attach` `None` for a pool-only handle (see [`Budget`]);
    /// `check_schema` false skips both applying and checking (for [`Db::migrate`], which does
    /// the applying itself).
    async fn open(
        url: &str,
        migrations: Migrations,
        max_connections: u32,
        attach: Option<&[(&str, &str)]>,
        schema: Schema,
        check_schema: bool,
    ) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let statements = attach.is_some();
        let attached: Attached = attach
            .unwrap_or_default()
            .iter()
            .map(|(schema, path)| ((*schema).to_owned(), (*path).to_owned()))
            .collect();
        let (backend, url) = if let Some(file) = sqlite_file(url) {
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
        let budget = if statements {
            Budget::with_statements(backend, max_connections)
        } else {
            Budget::pool_only(max_connections)
        };
        let pool = sqlite_tuned(backend, AnyPoolOptions::new(), attached.clone())
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .max_connections(budget.pool)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await
            .context("connecting to the database")?;
        let migrator = match backend {
            Backend::Sqlite => migrations.sqlite,
            Backend::Postgres => migrations.postgres,
        };
        if check_schema {
            match schema {
                Schema::Migrate => migrator.run(&pool).await.context("applying migrations")?,
                Schema::RequireCurrent => require_current(&pool, backend, migrator).await?,
            }
        }
        let writer = match backend {
            // The writers' connection keeps a larger page cache: it walks every index a write
            // touches, and nobody else's writes invalidate it.
            Backend::Sqlite if statements => Some(SqliteWriter::new(options.clone())),
            _ => None,
        };
        let direct = statements.then(|| {
            Arc::new(DirectPool::new(
                options,
                backend,
                budget.statements,
                attached,
            ))
        });
        Ok(Self {
            pool,
            backend,
            direct,
            writer,
            max_connections,
        })
    }

    /// Runs one statement outside a transaction and returns its rows. Like `fetch_all` on
    /// [`Db::pool`], without the pool's check of the connection after every statement (see
    /// [`direct`]); these connections are counted apart from the pool's.
    pub async fn fetch_all<'q>(
        &self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        let mut lease = self.statements()?.lease().await?;
        let result = query.fetch_all(&mut lease.conn).await;
        lease.give_back(&result);
        result
    }

    /// [`Db::fetch_all`] for at most one row.
    pub async fn fetch_optional<'q>(
        &self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Result<Option<AnyRow>, sqlx::Error> {
        let mut lease = self.statements()?.lease().await?;
        let result = query.fetch_optional(&mut lease.conn).await;
        lease.give_back(&result);
        result
    }

    /// [`Db::fetch_all`] for a statement whose rows are not wanted. On SQLite, writes go
    /// through [`Db::begin_write`] instead.
    pub async fn execute<'q>(
        &self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Result<AnyQueryResult, sqlx::Error> {
        let mut lease = self.statements()?.lease().await?;
        let result = query.execute(&mut lease.conn).await;
        lease.give_back(&result);
        result
    }

    /// The statement connections; a pool-only handle has none (see [`Budget`]).
    fn statements(&self) -> Result<&DirectPool, sqlx::Error> {
        self.direct.as_deref().ok_or_else(|| {
            sqlx::Error::Configuration("this database handle has no statement connections".into())
        })
    }

    /// SQLite: the count of write transactions this handle has committed, which grows before
    /// any of them answers its caller; `None` on Postgres. For work that must follow the
    /// writes, such as an index kept in another file.
    pub fn commits(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.writer.as_ref().map(SqliteWriter::commits)
    }

    /// Begins a transaction that will write: on SQLite it waits for its turn at its first
    /// trip to the database (see [`write`]); Postgres writers run concurrently and lock rows.
    /// A pool-only handle (see [`Budget`]) begins an ordinary transaction on its pool.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        Ok(match &self.writer {
            Some(writer) => WriteTx::sqlite(writer.clone()),
            None => WriteTx::postgres(self.pool.begin().await?),
        })
    }

    /// The pools' connections now.
    pub fn pool_counts(&self) -> PoolCounts {
        let (in_use, idle) = self.direct.as_ref().map_or((0, 0), |direct| {
            direct.counts(
                Budget::with_statements(self.backend, self.max_connections).statements as usize,
            )
        });
        PoolCounts {
            max: self.max_connections,
            transactions_open: self.pool.size(),
            transactions_idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            statements_in_use: u32::try_from(in_use).unwrap_or(u32::MAX),
            statements_idle: u32::try_from(idle).unwrap_or(u32::MAX),
        }
    }

    /// True when a unique constraint rejected a write.
    pub fn is_unique_violation(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
    }
}

/// The versions (with checksums) recorded as applied; empty when no migration ever ran.
async fn applied_versions(pool: &AnyPool, backend: Backend) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    let exists_sql = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
        }
    };
    let exists: i64 = sqlx::query_scalar(exists_sql)
        .fetch_one(pool)
        .await
        .context("looking for the migrations table")?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .context("reading the applied migrations")?;
    Ok(rows)
}

/// Fails, naming what is missing, unless every migration of `migrator` is applied unchanged.
async fn require_current(
    pool: &AnyPool,
    backend: Backend,
    migrator: &Migrator,
) -> anyhow::Result<()> {
    let applied = applied_versions(pool, backend).await?;
    let mut missing = Vec::new();
    for migration in migrator.iter() {
        if migration.migration_type.is_down_migration() {
            continue;
        }
        match applied.iter().find(|(v, _)| *v == migration.version) {
            None => missing.push(migration.version),
            Some((_, checksum)) if *checksum != *migration.checksum => anyhow::bail!(
                "migration {} applied to the database differs from this build's",
                migration.version
            ),
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(i64::to_string).collect();
        anyhow::bail!(
            "the database schema is not current: {} of this build's migrations are not applied \
             ({}); MIGRATE_ON_START is off, so run this service's `migrate` command first",
            missing.len(),
            list.join(", ")
        );
    }
    Ok(())
}

/// How long a pooled connection may sit idle before it is checked on its way out of the pool.
/// sqlx checks each connection when it comes back, and by default again when it leaves: one
/// more trip to the server (Postgres) or the connection's thread (SQLite) for every query. A
/// connection in steady use was checked a moment ago; one idle for longer may have been cut
/// by a database restart meanwhile, and is checked and replaced before anyone uses it.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// How much of a SQLite database file each connection maps into memory. SQLite then reads a
/// page where the kernel's page cache holds it, instead of copying it out with a system call:
/// at a million tickets that halved the CPU of a search (docs/perf/tickets.md). The
/// mapping is of the page cache the kernel keeps anyway, so it costs address space, not
/// memory; SQLite maps no more than the file's size, and writes still go through the WAL.
/// SQLite's own ceiling is 2 GiB unless built with a higher `SQLITE_MAX_MMAP_SIZE`, which
/// `.cargo/config.toml` sets.
pub const SQLITE_MMAP_BYTES: u64 = 64 << 30;

/// SQLite connections: WAL, `synchronous = NORMAL`, a busy timeout, foreign keys, the file
/// mapped into memory ([`SQLITE_MMAP_BYTES`]), SQLite's default page cache and the `attached`
/// files. Other backends: `options` as they are.
fn sqlite_tuned(backend: Backend, options: AnyPoolOptions, attached: Attached) -> AnyPoolOptions {
    if backend != Backend::Sqlite {
        return options;
    }
    options.after_connect(move |conn, _meta| {
        let attached = attached.clone();
        Box::pin(async move { tune_sqlite(conn, 0, &attached).await })
    })
}

/// Tunes a SQLite connection (see [`sqlite_tuned`]), with a page cache of `cache_kib` KiB
/// (0: SQLite's default), and attaches `attached`, each file mapped as the main one.
pub async fn tune_sqlite(
    conn: &mut sqlx::AnyConnection,
    cache_kib: u32,
    attached: &[(String, String)],
) -> Result<(), sqlx::Error> {
    conn.execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
    )
    .await?;
    conn.execute(format!("PRAGMA mmap_size = {SQLITE_MMAP_BYTES}").as_str())
        .await?;
    if cache_kib > 0 {
        conn.execute(format!("PRAGMA cache_size = -{cache_kib}").as_str())
            .await?;
    }
    for (schema, path) in attached {
        sqlx::query(&format!("ATTACH DATABASE $1 AS \"{schema}\""))
            .bind(path)
            .execute(&mut *conn)
            .await?;
        conn.execute(format!("PRAGMA \"{schema}\".mmap_size = {SQLITE_MMAP_BYTES}").as_str())
            .await?;
    }
    Ok(())
}

/// The file of a SQLite database URL (`sqlite://path?options`); `None` for another backend.
pub fn sqlite_file(url: &str) -> Option<&str> {
    let path = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    Some(path.split('?').next().unwrap_or(path))
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
    use sqlx::migrate::Migrator;

    use super::*;

    #[test]
    fn db_max_connections_counts_every_connection_a_handle_opens() {
        assert_eq!(
            Budget::pool_only(10),
            Budget {
                pool: 10,
                statements: 0
            }
        );
        // SQLite: the pool 1, the writer 1, the search index's writer 1, statements the rest.
        assert_eq!(
            Budget::with_statements(Backend::Sqlite, 10),
            Budget {
                pool: 1,
                statements: 7
            }
        );
        assert_eq!(
            Budget::with_statements(Backend::Postgres, 10),
            Budget {
                pool: 5,
                statements: 5
            }
        );
        assert_eq!(
            Budget::with_statements(Backend::Postgres, 1),
            Budget {
                pool: 1,
                statements: 1
            }
        );
    }

    static NO_MIGRATIONS: Migrator = Migrator::DEFAULT;

    /// Fails when SQLite was built without the raised `SQLITE_MAX_MMAP_SIZE` (it then clamps
    /// the mapping to 2 GiB) or with its count of memory in use.
    #[tokio::test]
    async fn sqlite_connections_map_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        let migrations = Migrations {
            sqlite: &NO_MIGRATIONS,
            postgres: &NO_MIGRATIONS,
        };
        let db = Db::connect(&url, migrations, 2).await.unwrap();
        let mmap: i64 = sqlx::query_scalar("PRAGMA mmap_size")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(mmap as u64, SQLITE_MMAP_BYTES);
        // Built without SQLite's count of memory in use (`.cargo/config.toml`).
        let memstatus: i64 =
            sqlx::query_scalar("SELECT sqlite_compileoption_used('DEFAULT_MEMSTATUS=0')")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(memstatus, 1);
        let mut tx = db.begin_write().await.unwrap();
        tx.execute("CREATE TABLE t (k INTEGER)", vec![])
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
}

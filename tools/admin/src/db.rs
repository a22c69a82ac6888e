//! The two backends as the tool sees them: database URLs, tables and columns read from the
//! catalogs (so a migration another engineer adds is carried without a change here), the
//! sqlx migrations a database records, row checksums, and whether a database is empty.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    str::FromStr as _,
};

use anyhow::{Context as _, bail};
use futures_util::TryStreamExt as _;
use sqlx::{
    Connection as _, PgConnection, Row as _, SqliteConnection,
    postgres::PgConnectOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode},
};

use crate::{
    checksum::{TableSum, hex},
    manifest::MigrationRecord,
    services::{Backend, Service, migrations_differ},
};

/// A service's database, from a `DATABASE_URL`-style setting.
#[derive(Debug, Clone)]
pub enum DbUrl {
    /// `sqlite://path` (relative paths from the working directory, as the services read them).
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbUrl {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() || path == ":memory:" {
                bail!("{url}: a SQLite database must be a file");
            }
            Ok(DbUrl::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(DbUrl::Postgres(url.to_owned()))
        } else {
            bail!("{url}: a database URL starts with sqlite: or postgres:")
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbUrl::Sqlite(_) => Backend::Sqlite,
            DbUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// For messages: the file, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            DbUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DbUrl::Postgres(url) => redact(url),
        }
    }
}

/// A Postgres URL with its password replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A double-quoted SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

// ---------------------------------------------------------------------------------------------
// SQLite

/// How [`sqlite_open`] opens a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// A service's database, which must exist: read-write in WAL mode like the services (a
    /// read-only connection cannot open a WAL file whose `-shm` is gone).
    Existing,
    /// A file the tool made (a snapshot), read only, its journal mode left as it is.
    ReadOnly,
}

/// Opens a SQLite file; a missing file is an error naming it.
pub async fn sqlite_open(path: &Path, mode: Open) -> anyhow::Result<SqliteConnection> {
    if !path.exists() {
        bail!("no SQLite database at {}", path.display());
    }
    let mut options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(10));
    options = match mode {
        Open::Existing => options.journal_mode(SqliteJournalMode::Wal),
        Open::ReadOnly => options.read_only(true),
    };
    SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("opening {}", path.display()))
}

/// The tables that hold data: not SQLite's own, not sqlx's bookkeeping, not FTS5 tables and
/// their shadow tables (derived data). Sorted by name.
pub async fn sqlite_tables(conn: &mut SqliteConnection) -> anyhow::Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let all: Vec<(String, String)> = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let virtual_tables: Vec<&str> = all
        .iter()
        .filter(|(_, sql)| sql.to_ascii_uppercase().starts_with("CREATE VIRTUAL"))
        .map(|(name, _)| name.as_str())
        .collect();
    Ok(all
        .iter()
        .filter(|(name, _)| {
            !virtual_tables
                .iter()
                .any(|v| name == v || name.starts_with(&format!("{v}_")))
        })
        .map(|(name, _)| name.clone())
        .collect())
}

/// A table's columns with their declared types, in table order.
pub async fn sqlite_columns(
    conn: &mut SqliteConnection,
    table: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// The migrations a SQLite database records as applied, or `None` when it has no
/// `_sqlx_migrations` table.
pub async fn sqlite_migrations(
    conn: &mut SqliteConnection,
) -> anyhow::Result<Option<Vec<MigrationRecord>>> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if exists == 0 {
        return Ok(None);
    }
    Ok(Some(recorded_migrations(&mut *conn).await?))
}

/// The files SQLite keeps beside a database (`-wal`, `-shm`) and the tickets service's search
/// index file (`-search`, with its own `-wal` and `-shm`): derived or transient, removed with
/// the database they belong to.
pub fn sqlite_companions(path: &Path) -> Vec<PathBuf> {
    ["-wal", "-shm", "-search", "-search-wal", "-search-shm"]
        .iter()
        .map(|suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Postgres

pub async fn pg_connect(url: &str) -> anyhow::Result<PgConnection> {
    let options = PgConnectOptions::from_str(url).with_context(|| redact(url))?;
    PgConnection::connect_with(&options)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))
}

#[derive(Debug, Clone)]
pub struct PgColumn {
    pub name: String,
    /// As `format_type` spells it: `text`, `bigint`, `integer`, `tsvector`…
    pub type_name: String,
    /// Generated columns are neither copied in nor out.
    pub generated: bool,
}

impl PgColumn {
    pub fn is_integer(&self) -> bool {
        matches!(self.type_name.as_str(), "bigint" | "integer" | "smallint")
    }
}

/// The tables of the connection's current schema but sqlx's bookkeeping, each after the
/// tables its foreign keys name (then by name).
pub async fn pg_tables(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c \
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') \
         AND c.relname <> '_sqlx_migrations' ORDER BY c.relname",
    )
    .fetch_all(&mut *conn)
    .await?;
    let edges = sqlx::query(
        "SELECT a.relname::text, b.relname::text FROM pg_constraint k \
         JOIN pg_class a ON a.oid = k.conrelid JOIN pg_class b ON b.oid = k.confrelid \
         WHERE k.contype = 'f' AND a.relnamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in &edges {
        let child: String = row.try_get(0)?;
        let parent: String = row.try_get(1)?;
        if child != parent {
            parents.entry(child).or_default().insert(parent);
        }
    }
    let mut ordered: Vec<String> = Vec::new();
    let mut left: Vec<String> = names;
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|t| {
                parents
                    .get(*t)
                    .is_none_or(|ps| ps.iter().all(|p| ordered.contains(p) || !left.contains(p)))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            // A cycle: keep the rest by name (no Docket schema has one).
            ordered.append(&mut left);
            break;
        }
        left.retain(|t| !ready.contains(t));
        ordered.extend(ready);
    }
    Ok(ordered)
}

pub async fn pg_columns(conn: &mut PgConnection, table: &str) -> anyhow::Result<Vec<PgColumn>> {
    let rows = sqlx::query(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attgenerated <> '' \
         FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 \
         AND NOT a.attisdropped ORDER BY a.attnum",
    )
    .bind(ident(table))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PgColumn {
                name: r.try_get(0)?,
                type_name: r.try_get(1)?,
                generated: r.try_get(2)?,
            })
        })
        .collect()
}

pub async fn pg_primary_key(conn: &mut PgConnection, table: &str) -> anyhow::Result<Vec<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT a.attname::text FROM pg_index i \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
         WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY a.attnum",
    )
    .bind(ident(table))
    .fetch_all(&mut *conn)
    .await?;
    if names.is_empty() {
        bail!("table {table} has no primary key");
    }
    Ok(names)
}

/// The migrations a Postgres schema records as applied, or `None` when it has no
/// `_sqlx_migrations` table.
pub async fn pg_migrations(
    conn: &mut PgConnection,
) -> anyhow::Result<Option<Vec<MigrationRecord>>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Ok(None);
    }
    Ok(Some(recorded_migrations(&mut *conn).await?))
}

// ---------------------------------------------------------------------------------------------
// Either backend

/// [`TableSum`] of `table` over `columns`, each read as text. `CAST(… AS TEXT)` is standard
/// SQL and means the same as Postgres's `::text`, so one query serves both backends and a
/// SQLite table and its Postgres copy sum alike.
pub async fn checksum<'c, E>(conn: E, table: &str, columns: &[String]) -> anyhow::Result<TableSum>
where
    E: sqlx::Executor<'c>,
    for<'q> <E::Database as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, E::Database> + sqlx::Type<E::Database>,
    usize: sqlx::ColumnIndex<<E::Database as sqlx::Database>::Row>,
{
    let list = columns
        .iter()
        .map(|c| format!("CAST({} AS TEXT)", ident(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT {list} FROM {}", ident(table));
    let mut sum = TableSum::default();
    let mut rows = sqlx::query(&sql).fetch(conn);
    while let Some(row) = rows.try_next().await? {
        let values: Vec<Option<String>> = (0..columns.len())
            .map(|i| row.try_get(i))
            .collect::<Result<_, _>>()?;
        sum.add_row(values.iter().map(Option::as_deref));
    }
    Ok(sum)
}

/// The rows in `table`.
pub async fn count<'c, E>(conn: E, table: &str) -> anyhow::Result<i64>
where
    E: sqlx::Executor<'c>,
    for<'q> <E::Database as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Database>,
    i64: for<'r> sqlx::Decode<'r, E::Database> + sqlx::Type<E::Database>,
    usize: sqlx::ColumnIndex<<E::Database as sqlx::Database>::Row>,
{
    Ok(
        sqlx::query_scalar(&format!("SELECT count(*) FROM {}", ident(table)))
            .fetch_one(conn)
            .await?,
    )
}

/// The successful migrations in a database's `_sqlx_migrations`, by version.
async fn recorded_migrations<'c, E>(conn: E) -> anyhow::Result<Vec<MigrationRecord>>
where
    E: sqlx::Executor<'c>,
    for<'q> <E::Database as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Database>,
    i64: for<'r> sqlx::Decode<'r, E::Database> + sqlx::Type<E::Database>,
    Vec<u8>: for<'r> sqlx::Decode<'r, E::Database> + sqlx::Type<E::Database>,
    usize: sqlx::ColumnIndex<<E::Database as sqlx::Database>::Row>,
{
    let rows = sqlx::query(
        "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let checksum: Vec<u8> = r.try_get(1)?;
            Ok(MigrationRecord {
                version: r.try_get(0)?,
                checksum: hex(&checksum),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Empty targets

/// A database a restore or a migration may write into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyTarget {
    /// No tables at all (or, on SQLite, no file): this build's migrations make the schema.
    Blank,
    /// This build's migrations applied, and no data in any table.
    Migrated,
}

/// The rows of each of `tables` that counts when deciding whether a database is empty.
async fn row_counts<C>(
    conn: &mut C,
    service: &Service,
    tables: &[String],
) -> anyhow::Result<Vec<(String, i64)>>
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
    for<'q> <C::Database as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, C::Database>,
    i64: for<'r> sqlx::Decode<'r, C::Database> + sqlx::Type<C::Database>,
    usize: sqlx::ColumnIndex<<C::Database as sqlx::Database>::Row>,
{
    let mut counts = Vec::new();
    for t in tables {
        if !service.ignored_when_empty(t) {
            counts.push((t.clone(), count(&mut *conn, t).await?));
        }
    }
    Ok(counts)
}

/// Whether `url` is empty for `service` (see [`EmptyTarget`]); a clear error otherwise.
pub async fn check_empty(service: &Service, url: &DbUrl) -> anyhow::Result<EmptyTarget> {
    let want = service.build_migrations(url.backend());
    let name = service.name;
    let shown = url.display();
    let (found, tables, counts) = match url {
        DbUrl::Sqlite(path) => {
            if !path.exists() || std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0 {
                return Ok(EmptyTarget::Blank);
            }
            let mut conn = sqlite_open(path, Open::Existing).await?;
            let found = sqlite_migrations(&mut conn).await?;
            let tables = sqlite_tables(&mut conn).await?;
            let counts = row_counts(&mut conn, service, &tables).await?;
            let _ = conn.close().await;
            (found, tables, counts)
        }
        DbUrl::Postgres(u) => {
            let mut conn = pg_connect(u).await?;
            let found = pg_migrations(&mut conn).await?;
            let tables = pg_tables(&mut conn).await?;
            let counts = row_counts(&mut conn, service, &tables).await?;
            let _ = conn.close().await;
            (found, tables, counts)
        }
    };
    match found {
        None if tables.is_empty() => Ok(EmptyTarget::Blank),
        None => bail!(
            "{name}: {shown} is not empty: it has tables ({}) but no sqlx migrations",
            tables.join(", ")
        ),
        Some(found) => {
            if let Some(diff) = migrations_differ(&found, &want) {
                bail!("{name}: {shown} is not empty: it holds another schema ({diff})");
            }
            if let Some((t, n)) = counts.iter().find(|(_, n)| *n > 0) {
                bail!(
                    "{name}: {shown} is not empty: table {t} has {n} rows; restore only into an \
                     empty database (a new one, or a SQLite file removed with its -wal, -shm and \
                     -search files)"
                );
            }
            Ok(EmptyTarget::Migrated)
        }
    }
}

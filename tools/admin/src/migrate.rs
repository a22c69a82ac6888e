//! `docket-admin migrate-sqlite-to-postgres`: every service's rows from its SQLite file into
//! its Postgres database, and local attachment files into S3 under the same keys.
//!
//! - Schema: the target gets this build's Postgres migrations when it has none; a target or
//!   source with other migrations is refused (start this build's services once on the SQLite
//!   files first, so they carry its schema).
//! - Rows: each table Postgres has, in foreign-key order, over the columns both sides have
//!   (ids, timestamps, versions, events as they are), read in primary-key order in batches and
//!   written with `INSERT … ON CONFLICT (pk) DO UPDATE … WHERE … IS DISTINCT FROM …`, one
//!   transaction per batch. Running it again after an interruption (or twice) writes only
//!   what is missing or different, never a duplicate. A target holding rows the source does
//!   not is refused before anything is written: it is not a resumed copy of this source.
//! - Search: SQLite keeps its index in a file of its own (`tickets.db-search`) and queues
//!   changes in `search_queue`; Postgres keeps each ticket's words in `tickets.search`. Those
//!   SQLite-only tables stay behind, and the Postgres documents are rebuilt from the copied
//!   tickets and comments, as the tickets service builds them (`repo::search`).
//! - Verification: per table, rows counted and checksummed (over the shared columns) on both
//!   sides; every ticket has a search document; every object read back from S3 matches the
//!   local file's SHA-256.
//!
//! Stop the services on SQLite first: rows written during the copy may be missed (a second
//! run picks them up).

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::PathBuf,
    time::Instant,
};

use anyhow::{Context as _, bail};
use futures_util::TryStreamExt as _;
use sqlx::{Connection as _, PgConnection, Row as _, SqliteConnection};

use crate::{
    checksum::sha256_hex,
    db::{self, Open, PgColumn, ident},
    objects::Storage,
    services::{Backend, SERVICES, Service, migrations_differ},
};

#[derive(Debug)]
pub struct MigrateOptions {
    /// The SQLite files, one per [`SERVICES`], in that order.
    pub sources: Vec<PathBuf>,
    /// The Postgres URLs, one per [`SERVICES`], in that order.
    pub targets: Vec<String>,
    /// Local storage to copy from (`UPLOAD_DIR`).
    pub upload_dir: PathBuf,
    /// S3 storage to copy to; `None` leaves the files where they are.
    pub to_storage: Option<Storage>,
    /// Rows per INSERT (and per transaction).
    pub batch: usize,
}

#[derive(Debug, Clone)]
pub struct TableReport {
    pub service: &'static str,
    pub table: String,
    pub rows: u64,
    /// Rows this run inserted or changed (0 on a run after a complete one).
    pub written: u64,
    pub checksum: String,
}

#[derive(Debug, Default)]
pub struct MigrateReport {
    pub tables: Vec<TableReport>,
    /// SQLite tables left behind, with why.
    pub left_behind: Vec<(&'static str, String, &'static str)>,
    pub objects_copied: usize,
    pub objects_already_there: usize,
    pub object_bytes: u64,
    pub seconds: f64,
}

impl std::fmt::Display for MigrateReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for t in &self.tables {
            writeln!(
                f,
                "{:<12} {:<16} {:>8} rows  {:>8} written  checksum {} (matches)",
                t.service, t.table, t.rows, t.written, t.checksum
            )?;
        }
        for (service, table, why) in &self.left_behind {
            writeln!(f, "{service:<12} {table:<16} left on SQLite: {why}")?;
        }
        writeln!(
            f,
            "objects: {} copied, {} already there, {} bytes in all (SHA-256 verified)",
            self.objects_copied, self.objects_already_there, self.object_bytes
        )?;
        write!(f, "took {:.2} s", self.seconds)
    }
}

pub async fn migrate(opts: &MigrateOptions) -> anyhow::Result<MigrateReport> {
    let started = Instant::now();
    if opts.sources.len() != SERVICES.len() || opts.targets.len() != SERVICES.len() {
        bail!("one source and one target per service");
    }
    let mut report = MigrateReport::default();
    let mut content_types = HashMap::new();
    for ((service, source), target) in SERVICES.iter().zip(&opts.sources).zip(&opts.targets) {
        let mut src = db::sqlite_open(source, Open::Existing).await?;
        let mut tgt = db::pg_connect(target).await?;
        service_rows(service, &mut src, &mut tgt, opts.batch, &mut report)
            .await
            .with_context(|| {
                format!(
                    "{}: {} → {}",
                    service.name,
                    source.display(),
                    db::redact(target)
                )
            })?;
        if service.name == "attachments" {
            let rows = sqlx::query("SELECT storage_key, content_type FROM attachments")
                .fetch_all(&mut src)
                .await?;
            for r in rows {
                content_types.insert(r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?);
            }
        }
        let _ = src.close().await;
        let _ = tgt.close().await;
    }
    if let Some(to) = &opts.to_storage {
        objects(opts, to, &content_types, &mut report).await?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

async fn service_rows(
    service: &Service,
    src: &mut SqliteConnection,
    tgt: &mut PgConnection,
    batch: usize,
    report: &mut MigrateReport,
) -> anyhow::Result<()> {
    let found = db::sqlite_migrations(src)
        .await?
        .context("the source has no sqlx migrations: not a Docket database")?;
    if let Some(diff) = migrations_differ(&found, &service.build_migrations(Backend::Sqlite)) {
        bail!(
            "the SQLite source is not at this build's schema ({diff}); start this build's \
             services on it once, then run this again"
        );
    }
    match db::pg_migrations(tgt).await? {
        None if db::pg_tables(tgt).await?.is_empty() => {
            service
                .migrator(Backend::Postgres)
                .run(&mut *tgt)
                .await
                .context("applying this build's Postgres migrations")?;
        }
        None => bail!("the Postgres target has tables but no sqlx migrations"),
        Some(found) => {
            if let Some(diff) =
                migrations_differ(&found, &service.build_migrations(Backend::Postgres))
            {
                bail!("the Postgres target is not at this build's schema ({diff})");
            }
        }
    }

    let source_tables: HashSet<String> = db::sqlite_tables(src).await?.into_iter().collect();
    let tables = db::pg_tables(tgt).await?;
    let mut behind: Vec<&String> = source_tables
        .iter()
        .filter(|t| !tables.contains(t))
        .collect();
    behind.sort();
    for table in behind {
        report.left_behind.push((
            service.name,
            table.clone(),
            if service.sqlite_only.contains(&table.as_str()) {
                "SQLite's search-index bookkeeping; Postgres keeps search in tickets.search"
            } else {
                "Postgres has no such table in this build's schema"
            },
        ));
    }
    // Refuse a target that is not (a part of) this source before writing anything.
    let mut plans = Vec::new();
    for table in &tables {
        if !source_tables.contains(table) {
            bail!("Postgres has a table {table} that the SQLite source lacks");
        }
        let plan = TablePlan::new(src, tgt, table).await?;
        plan.refuse_foreign_rows(src, tgt).await?;
        plans.push(plan);
    }
    let mut written = BTreeMap::new();
    for plan in &plans {
        written.insert(plan.table.clone(), plan.copy(src, tgt, batch).await?);
    }
    if service.name == "tickets" {
        sqlx::query(REBUILD_SEARCH)
            .execute(&mut *tgt)
            .await
            .context("building the Postgres search documents")?;
        let bare: i64 =
            sqlx::query_scalar("SELECT count(*) FROM tickets WHERE search = ''::tsvector")
                .fetch_one(&mut *tgt)
                .await?;
        if bare > 0 {
            bail!("{bare} tickets have no search document after the rebuild");
        }
        sqlx::query("ANALYZE tickets").execute(&mut *tgt).await?;
    }
    for plan in &plans {
        let (from, to) = (
            db::checksum(&mut *src, &plan.table, &plan.columns_sorted()).await?,
            db::checksum(&mut *tgt, &plan.table, &plan.columns_sorted()).await?,
        );
        if from != to {
            bail!(
                "table {}: SQLite has {} rows (checksum {}), Postgres {} ({}) after the copy",
                plan.table,
                from.rows,
                from.hex(),
                to.rows,
                to.hex()
            );
        }
        report.tables.push(TableReport {
            service: service.name,
            table: plan.table.clone(),
            rows: to.rows,
            written: written[&plan.table],
            checksum: to.hex(),
        });
    }
    Ok(())
}

/// Every ticket's search document from its text, as `services/tickets/src/repo/search.rs`
/// writes it (public words at weight A, internal notes' at D; see the tickets 0005 migration),
/// comments in their order so that a second run computes the same document and leaves the row
/// alone.
const REBUILD_SEARCH: &str = "UPDATE tickets u SET search = d.search FROM ( \
     SELECT t.id, setweight(to_tsvector('simple', t.subject || ' ' || t.description \
         || COALESCE(' ' || (SELECT string_agg(c.body, ' ' ORDER BY c.created_at, c.id) \
             FROM comments c WHERE c.ticket_id = t.id AND c.internal = 0), '')), 'A') \
         || to_tsvector('simple', COALESCE((SELECT string_agg(c.body, ' ' ORDER BY c.created_at, c.id) \
             FROM comments c WHERE c.ticket_id = t.id AND c.internal = 1), '')) AS search \
     FROM tickets t) d \
     WHERE u.id = d.id AND u.search IS DISTINCT FROM d.search";

/// How one table is copied.
struct TablePlan {
    table: String,
    /// Columns both sides have, in Postgres's order, with Postgres's types.
    columns: Vec<PgColumn>,
    /// The primary key (one column in every Docket table).
    key: String,
}

/// A value read from SQLite, typed as the Postgres column wants it.
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl TablePlan {
    async fn new(
        src: &mut SqliteConnection,
        tgt: &mut PgConnection,
        table: &str,
    ) -> anyhow::Result<Self> {
        let source_columns: HashSet<String> = db::sqlite_columns(src, table)
            .await?
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        let columns: Vec<PgColumn> = db::pg_columns(tgt, table)
            .await?
            .into_iter()
            .filter(|c| !c.generated && source_columns.contains(&c.name))
            .collect();
        let key = match db::pg_primary_key(tgt, table).await?.as_slice() {
            [one] => one.clone(),
            _ => bail!("table {table}: a primary key of several columns is not supported"),
        };
        match columns.iter().find(|c| c.name == key) {
            None => bail!("table {table}: the SQLite source lacks the key column {key}"),
            // Read in key order by keyset (`key > last`), which needs text keys.
            Some(c) if c.type_name != "text" => {
                bail!(
                    "table {table}: a key of type {} is not supported",
                    c.type_name
                )
            }
            Some(_) => {}
        }
        Ok(Self {
            table: table.to_owned(),
            columns,
            key,
        })
    }

    fn columns_sorted(&self) -> Vec<String> {
        let mut names: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        names.sort();
        names
    }

    /// SQLite's expression for a column, cast to what Postgres stores.
    fn read_expr(column: &PgColumn) -> String {
        if column.is_integer() {
            format!("CAST({} AS INTEGER)", ident(&column.name))
        } else {
            format!("CAST({} AS TEXT)", ident(&column.name))
        }
    }

    async fn refuse_foreign_rows(
        &self,
        src: &mut SqliteConnection,
        tgt: &mut PgConnection,
    ) -> anyhow::Result<()> {
        let target_rows = db::count(&mut *tgt, &self.table).await?;
        if target_rows == 0 {
            return Ok(());
        }
        let keys: HashSet<String> = sqlx::query_scalar(&format!(
            "SELECT CAST({} AS TEXT) FROM {}",
            ident(&self.key),
            ident(&self.table)
        ))
        .fetch_all(&mut *src)
        .await?
        .into_iter()
        .collect();
        let sql = format!(
            "SELECT {}::text FROM {}",
            ident(&self.key),
            ident(&self.table)
        );
        let mut foreign = 0u64;
        let mut example = None;
        let mut rows = sqlx::query_scalar::<_, String>(&sql).fetch(&mut *tgt);
        while let Some(k) = rows.try_next().await? {
            if !keys.contains(&k) {
                foreign += 1;
                example.get_or_insert(k);
            }
        }
        if foreign > 0 {
            bail!(
                "Postgres table {} holds {foreign} rows the SQLite source does not (e.g. {} = \
                 {}): this target is not a copy of this source in progress; migrate into empty \
                 databases",
                self.table,
                self.key,
                example.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// Copies every row; returns how many were inserted or changed.
    async fn copy(
        &self,
        src: &mut SqliteConnection,
        tgt: &mut PgConnection,
        batch: usize,
    ) -> anyhow::Result<u64> {
        let key_index = self
            .columns
            .iter()
            .position(|c| c.name == self.key)
            .context("key column")?;
        let select = format!(
            "SELECT {} FROM {} WHERE {key} > $1 ORDER BY {key} LIMIT {batch}",
            self.columns
                .iter()
                .map(Self::read_expr)
                .collect::<Vec<_>>()
                .join(", "),
            ident(&self.table),
            key = ident(&self.key),
        );
        let names = self
            .columns
            .iter()
            .map(|c| ident(&c.name))
            .collect::<Vec<_>>();
        let others: Vec<&String> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != key_index)
            .map(|(_, n)| n)
            .collect();
        let conflict = if others.is_empty() {
            "DO NOTHING".to_owned()
        } else {
            let set = others
                .iter()
                .map(|n| format!("{n} = EXCLUDED.{n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let old = others
                .iter()
                .map(|n| format!("t.{n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let new = others
                .iter()
                .map(|n| format!("EXCLUDED.{n}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("DO UPDATE SET {set} WHERE ROW({old}) IS DISTINCT FROM ROW({new})")
        };
        let mut after = String::new();
        let mut written = 0u64;
        loop {
            let rows = sqlx::query(&select)
                .bind(&after)
                .fetch_all(&mut *src)
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut values: Vec<Vec<Value>> = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut vals = Vec::with_capacity(self.columns.len());
                for (i, c) in self.columns.iter().enumerate() {
                    vals.push(if c.is_integer() {
                        Value::Int(row.try_get(i)?)
                    } else {
                        Value::Text(row.try_get(i)?)
                    });
                }
                values.push(vals);
            }
            after = match &values.last().and_then(|v| v.get(key_index)) {
                Some(Value::Text(Some(k))) => k.clone(),
                Some(Value::Int(Some(k))) => k.to_string(),
                _ => bail!("table {}: a row without a key", self.table),
            };
            let mut n = 0;
            let tuples = values
                .iter()
                .map(|vals| {
                    let ps = vals
                        .iter()
                        .map(|_| {
                            n += 1;
                            format!("${n}")
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("({ps})")
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO {} AS t ({}) VALUES {tuples} ON CONFLICT ({}) {conflict}",
                ident(&self.table),
                names.join(", "),
                ident(&self.key)
            );
            let mut query = sqlx::query(&sql);
            for v in values {
                for value in v {
                    query = match value {
                        Value::Int(i) => query.bind(i),
                        Value::Text(s) => query.bind(s),
                    };
                }
            }
            written += query.execute(&mut *tgt).await?.rows_affected();
            if rows.len() < batch {
                break;
            }
        }
        Ok(written)
    }
}

async fn objects(
    opts: &MigrateOptions,
    to: &Storage,
    content_types: &HashMap<String, String>,
    report: &mut MigrateReport,
) -> anyhow::Result<()> {
    let from = Storage::Local(opts.upload_dir.clone());
    for key in from.list().await? {
        let Some(object) = from.get(&key).await? else {
            continue;
        };
        let sha = sha256_hex(&object.bytes);
        report.object_bytes += object.bytes.len() as u64;
        match to.get(&key).await? {
            Some(there) if sha256_hex(&there.bytes) == sha => {
                report.objects_already_there += 1;
                continue;
            }
            _ => {}
        }
        to.put(
            &key,
            object.bytes,
            content_types.get(&key).map(String::as_str),
        )
        .await?;
        let back = to
            .get(&key)
            .await?
            .with_context(|| format!("{key} is not in {} after writing it", to.describe()))?;
        if sha256_hex(&back.bytes) != sha {
            bail!("{key} reads back from {} with other bytes", to.describe());
        }
        report.objects_copied += 1;
    }
    Ok(())
}

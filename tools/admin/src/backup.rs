//! `docket-admin backup`: every service's database and the attachment objects its rows name,
//! into a folder or an S3 prefix, with a manifest written last.
//!
//! - SQLite: `VACUUM INTO` a new file, SQLite's own consistent snapshot of a live database
//!   (readers and the services' writer carry on meanwhile).
//! - Postgres: `COPY … TO STDOUT` of every table inside one `REPEATABLE READ READ ONLY`
//!   transaction, so all tables come from one snapshot; no `pg_dump` needed, and the text
//!   format restores byte for byte with `COPY … FROM STDIN`.
//! - Objects: those the backed-up attachments table names, read after the databases (keys are
//!   never reused, so an object read later is the one the row meant). Orphans are left out; a
//!   key whose object is gone (an upload not finished, a delete under way) is listed as
//!   missing. With `copy_objects` false only the list is kept (a bucket with its own
//!   versioning or replication).
//!
//! Each service's database is its own snapshot: services never join across databases, and a
//! ticket's attachments written between two snapshots are at worst rows without a ticket,
//! which the attachments sweep knows how to treat. For one instant across all of them, stop
//! writes (or the services) while the backup runs.

use std::{collections::BTreeMap, time::Instant};

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use sqlx::{Connection as _, Executor as _};
use tokio::io::AsyncWriteExt as _;

use crate::{
    checksum::{file_sha256, sha256_hex},
    db::{self, DbUrl, Open, ident},
    location::Location,
    manifest::{self, FileEntry, Manifest, ObjectEntry, ObjectsBackup, ServiceBackup, TableEntry},
    objects::Storage,
    services::{Backend, SERVICES, Service},
};

#[derive(Debug)]
pub struct BackupOptions {
    /// One per [`SERVICES`], in that order.
    pub databases: Vec<DbUrl>,
    pub storage: Storage,
    pub to: Location,
    pub copy_objects: bool,
}

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupReport {
    pub manifest: Manifest,
    pub orphans_skipped: usize,
    pub seconds: f64,
}

impl std::fmt::Display for BackupReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, s) in &self.manifest.services {
            let rows: u64 = s.tables.iter().map(|t| t.rows).sum();
            let version = s.migrations.last().map_or(0, |m| m.version);
            writeln!(
                f,
                "{name:<12} {:<8} schema {version:>4}  {} tables, {rows} rows",
                s.backend,
                s.tables.len()
            )?;
        }
        let o = &self.manifest.objects;
        let bytes: u64 = o.objects.iter().map(|e| e.size).sum();
        writeln!(
            f,
            "objects      {:<8} {} objects, {bytes} bytes{}; {} missing, {} orphans left out",
            o.storage,
            o.objects.len(),
            if o.copied { " copied" } else { " listed only" },
            o.missing.len(),
            self.orphans_skipped
        )?;
        write!(f, "took {:.2} s", self.seconds)
    }
}

pub async fn backup(opts: &BackupOptions) -> anyhow::Result<BackupReport> {
    let started = Instant::now();
    if opts.databases.len() != SERVICES.len() {
        bail!("one database per service");
    }
    if opts.to.exists(manifest::FILE).await? {
        bail!(
            "{} already holds a backup ({}); choose a new place",
            opts.to.describe(),
            manifest::FILE
        );
    }
    let created_at_ms = now_ms();
    let mut services = BTreeMap::new();
    let mut named_keys = Vec::new();
    for (service, url) in SERVICES.iter().zip(&opts.databases) {
        let (entry, keys) = match url {
            DbUrl::Sqlite(path) => sqlite(service, path, &opts.to).await,
            DbUrl::Postgres(u) => postgres(service, u, &opts.to).await,
        }
        .with_context(|| format!("backing up {} ({})", service.name, url.display()))?;
        if service.name == "attachments" {
            named_keys = keys;
            // Rust's order, whatever the database's collation.
            named_keys.sort();
        }
        services.insert(service.name.to_owned(), entry);
    }

    let stored = opts.storage.list().await?;
    let orphans_skipped = stored
        .iter()
        .filter(|k| named_keys.binary_search(k).is_err())
        .count();
    let mut objects = Vec::new();
    let mut missing = Vec::new();
    for key in &named_keys {
        let Some(object) = opts.storage.get(key).await? else {
            missing.push(key.clone());
            continue;
        };
        let entry = ObjectEntry {
            key: key.clone(),
            size: object.bytes.len() as u64,
            sha256: sha256_hex(&object.bytes),
            content_type: object.content_type,
        };
        if opts.copy_objects {
            opts.to
                .put_bytes(&manifest::object_path(key), object.bytes)
                .await?;
        }
        objects.push(entry);
    }

    let manifest = Manifest {
        format: manifest::FORMAT,
        created_at_ms,
        tool: format!("docket-admin {}", env!("CARGO_PKG_VERSION")),
        services,
        objects: ObjectsBackup {
            storage: opts.storage.kind().to_owned(),
            copied: opts.copy_objects,
            objects,
            missing,
        },
    };
    let json = serde_json::to_vec_pretty(&manifest)?;
    opts.to.put_bytes(manifest::FILE, json).await?;
    Ok(BackupReport {
        manifest,
        orphans_skipped,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The storage keys the attachments table names, sorted.
const KEYS_SQL: &str = "SELECT storage_key FROM attachments ORDER BY storage_key";

async fn sqlite(
    service: &Service,
    path: &std::path::Path,
    to: &Location,
) -> anyhow::Result<(ServiceBackup, Vec<String>)> {
    let name = format!("sqlite/{}.db", service.name);
    let staged = to.stage(&name)?;
    // A file left by an interrupted backup (no manifest was written, so it is no backup).
    if staged.exists() {
        std::fs::remove_file(&staged)
            .with_context(|| format!("removing the leftover {}", staged.display()))?;
    }
    let mut live = db::sqlite_open(path, Open::Existing).await?;
    if db::sqlite_migrations(&mut live).await?.is_none() {
        bail!(
            "{} has no sqlx migrations: not a Docket database",
            path.display()
        );
    }
    let target = staged
        .to_str()
        .context("the backup path is not UTF-8")?
        .replace('\'', "''");
    live.execute(format!("VACUUM INTO '{target}'").as_str())
        .await
        .context("VACUUM INTO")?;
    let _ = live.close().await;

    let mut snap = db::sqlite_open(&staged, Open::ReadOnly).await?;
    let migrations = db::sqlite_migrations(&mut snap)
        .await?
        .context("the snapshot lost its migrations")?;
    let mut tables = Vec::new();
    for table in db::sqlite_tables(&mut snap).await? {
        let columns: Vec<String> = db::sqlite_columns(&mut snap, &table)
            .await?
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        let sum = db::checksum(&mut snap, &table, &columns).await?;
        tables.push(TableEntry {
            name: table,
            columns,
            rows: sum.rows,
            checksum: sum.hex(),
            file: None,
        });
    }
    let keys = if service.name == "attachments" {
        sqlx::query_scalar(KEYS_SQL).fetch_all(&mut snap).await?
    } else {
        Vec::new()
    };
    let _ = snap.close().await;
    let (size, sha256) = file_sha256(&staged).await?;
    to.commit(&name, &staged).await?;
    Ok((
        ServiceBackup {
            backend: Backend::Sqlite.as_str().to_owned(),
            migrations,
            tables,
            files: vec![FileEntry { name, size, sha256 }],
        },
        keys,
    ))
}

async fn postgres(
    service: &Service,
    url: &str,
    to: &Location,
) -> anyhow::Result<(ServiceBackup, Vec<String>)> {
    let mut conn = db::pg_connect(url).await?;
    // One snapshot for every table; read only, so it takes no locks that block the services
    // beyond what any reader takes.
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let migrations = db::pg_migrations(&mut conn)
        .await?
        .context("no sqlx migrations: not a Docket database")?;
    let mut tables = Vec::new();
    let mut staged = Vec::new();
    for table in db::pg_tables(&mut conn).await? {
        let columns: Vec<String> = db::pg_columns(&mut conn, &table)
            .await?
            .into_iter()
            .filter(|c| !c.generated)
            .map(|c| c.name)
            .collect();
        let name = format!("postgres/{}/{table}.copy", service.name);
        let path = to.stage(&name)?;
        let list = columns
            .iter()
            .map(|c| ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let mut file = tokio::fs::File::create(&path)
            .await
            .with_context(|| format!("creating {}", path.display()))?;
        {
            let mut stream = conn
                .copy_out_raw(&format!("COPY {} ({list}) TO STDOUT", ident(&table)))
                .await?;
            while let Some(chunk) = stream.next().await {
                file.write_all(&chunk?).await?;
            }
        }
        file.flush().await?;
        drop(file);
        let sum = db::checksum(&mut conn, &table, &columns).await?;
        tables.push(TableEntry {
            name: table,
            columns,
            rows: sum.rows,
            checksum: sum.hex(),
            file: Some(name.clone()),
        });
        staged.push((name, path));
    }
    let keys = if service.name == "attachments" {
        sqlx::query_scalar(KEYS_SQL).fetch_all(&mut conn).await?
    } else {
        Vec::new()
    };
    conn.execute("COMMIT").await?;
    let _ = conn.close().await;
    let mut files = Vec::new();
    for (name, path) in staged {
        let (size, sha256) = file_sha256(&path).await?;
        to.commit(&name, &path).await?;
        files.push(FileEntry { name, size, sha256 });
    }
    Ok((
        ServiceBackup {
            backend: Backend::Postgres.as_str().to_owned(),
            migrations,
            tables,
            files,
        },
        keys,
    ))
}

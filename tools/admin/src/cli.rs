//! The command line, and the settings it reads: the services' own variables, so the tool
//! works on whatever `scripts/run`, compose or ECS runs the services on.
//!
//! | setting | flag | variable | default |
//! |---|---|---|---|
//! | each service's database | `--auth-db`, `--tickets-db`, `--attachments-db` | `AUTH_DATABASE_URL`, `TICKETS_DATABASE_URL`, `ATTACHMENTS_DATABASE_URL` | `sqlite://data/<service>.db` (what `scripts/run` uses) |
//! | storage | `--storage local\|s3` | `STORAGE_TYPE` | `local` |
//! | local storage | `--upload-dir` | `UPLOAD_DIR` | `data/uploads` |
//! | S3 storage | `--bucket` | `S3_ATTACHMENTS_BUCKET` | |
//! | S3 | | `AWS_REGION`, `AWS_ENDPOINT_URL`, credentials | |
//! | backup encryption | `--sse AES256\|aws:kms`, `--kms-key-id` | `BACKUP_SSE`, `BACKUP_KMS_KEY_ID` | `AES256` |
//!
//! Each service reads its own `DATABASE_URL`; the tool serves all three at once, so it reads
//! each one under the service's name (as compose's LocalStack hook does for attachments).

use std::{collections::BTreeMap, path::PathBuf, process::ExitCode};

use anyhow::{Context as _, bail};

use crate::{
    backup::{BackupOptions, backup},
    db::DbUrl,
    location::{Location, Sse, s3_client},
    migrate::{MigrateOptions, migrate},
    objects::Storage,
    restore::{RestoreOptions, restore},
    services::SERVICES,
};

pub const USAGE: &str = "\
usage: docket-admin <command> [flags]

  backup --to DIR|s3://bucket/prefix [--no-objects] [--sse AES256|aws:kms] [--kms-key-id ID]
      A consistent copy of every service's database and of the attachment objects its rows
      name, with a manifest (schema versions, row and object checksums), written last.
  restore --from DIR|s3://bucket/prefix
      Into empty databases and storage; refused when the backup's migrations are not this
      build's, or a target is not empty. Verified against the manifest at the end.
  migrate-sqlite-to-postgres [--auth-from URL] [--tickets-from URL] [--attachments-from URL]
                             [--auth-to URL] [--tickets-to URL] [--attachments-to URL]
                             [--upload-dir DIR] [--to-bucket BUCKET] [--batch ROWS]
      Every service's rows from SQLite (default sqlite://data/<service>.db) into Postgres
      (default <SERVICE>_DATABASE_URL), and the files under --upload-dir into S3 under the same
      keys (when a bucket is given, or S3_ATTACHMENTS_BUCKET is set). Resumable: run it again
      after an interruption. Verified by row counts and checksums.

Databases and storage (backup, restore): --auth-db, --tickets-db, --attachments-db URL
(AUTH_DATABASE_URL, TICKETS_DATABASE_URL, ATTACHMENTS_DATABASE_URL; default
sqlite://data/<service>.db), --storage local|s3 (STORAGE_TYPE), --upload-dir (UPLOAD_DIR,
default data/uploads), --bucket (S3_ATTACHMENTS_BUCKET); S3 from AWS_REGION, AWS_ENDPOINT_URL
and the usual credentials. Stop the services before a restore or a migration.";

/// Flags and their values; a flag without a value is `""`.
#[derive(Debug, Default)]
struct Flags(BTreeMap<String, String>);

const SWITCHES: &[&str] = &["no-objects"];

impl Flags {
    fn parse(args: &[String], allowed: &[&str]) -> anyhow::Result<Self> {
        let mut flags = BTreeMap::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let Some(name) = arg.strip_prefix("--") else {
                bail!("unexpected argument {arg:?}");
            };
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (name, None),
            };
            if !allowed.contains(&name) {
                bail!("unknown flag --{name}");
            }
            let value = if SWITCHES.contains(&name) {
                String::new()
            } else {
                match inline {
                    Some(v) => v,
                    None => it
                        .next()
                        .with_context(|| format!("--{name} takes a value"))?
                        .clone(),
                }
            };
            flags.insert(name.to_owned(), value);
        }
        Ok(Flags(flags))
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn default_sqlite(service: &str) -> String {
    format!("sqlite://data/{service}.db")
}

/// Each service's database: flag, then `<SERVICE>_DATABASE_URL`, then `scripts/run`'s file.
fn databases(flags: &Flags) -> anyhow::Result<Vec<DbUrl>> {
    SERVICES
        .iter()
        .map(|s| {
            let url = flags
                .get(&format!("{}-db", s.name))
                .or_else(|| env(&format!("{}_DATABASE_URL", s.name.to_uppercase())))
                .unwrap_or_else(|| default_sqlite(s.name));
            DbUrl::parse(&url).with_context(|| format!("the {} database", s.name))
        })
        .collect()
}

fn upload_dir(flags: &Flags) -> PathBuf {
    PathBuf::from(
        flags
            .get("upload-dir")
            .or_else(|| env("UPLOAD_DIR"))
            .unwrap_or_else(|| "data/uploads".into()),
    )
}

async fn storage(flags: &Flags) -> anyhow::Result<Storage> {
    let kind = flags
        .get("storage")
        .or_else(|| env("STORAGE_TYPE"))
        .unwrap_or_else(|| "local".into());
    match kind.as_str() {
        "local" => Ok(Storage::Local(upload_dir(flags))),
        "s3" => {
            let bucket = flags
                .get("bucket")
                .or_else(|| env("S3_ATTACHMENTS_BUCKET"))
                .context("S3 storage needs --bucket or S3_ATTACHMENTS_BUCKET")?;
            Ok(Storage::S3 {
                client: s3_client().await,
                bucket,
            })
        }
        other => bail!("STORAGE_TYPE / --storage: local or s3, not {other:?}"),
    }
}

const STORAGE_FLAGS: &[&str] = &[
    "auth-db",
    "tickets-db",
    "attachments-db",
    "storage",
    "upload-dir",
    "bucket",
];

async fn run_backup(args: &[String]) -> anyhow::Result<()> {
    let mut allowed = STORAGE_FLAGS.to_vec();
    allowed.extend(["to", "no-objects", "sse", "kms-key-id"]);
    let flags = Flags::parse(args, &allowed)?;
    let to = flags
        .get("to")
        .context("backup needs --to DIR|s3://bucket/prefix")?;
    let sse = Sse::parse(
        &flags
            .get("sse")
            .or_else(|| env("BACKUP_SSE"))
            .unwrap_or_else(|| "AES256".into()),
        flags.get("kms-key-id").or_else(|| env("BACKUP_KMS_KEY_ID")),
    )?;
    let opts = BackupOptions {
        databases: databases(&flags)?,
        storage: storage(&flags).await?,
        to: Location::open(&to, sse).await?,
        copy_objects: !flags.has("no-objects"),
    };
    let report = backup(&opts).await?;
    println!("backup written to {}\n{report}", opts.to.describe());
    Ok(())
}

async fn run_restore(args: &[String]) -> anyhow::Result<()> {
    let mut allowed = STORAGE_FLAGS.to_vec();
    allowed.push("from");
    let flags = Flags::parse(args, &allowed)?;
    let from = flags
        .get("from")
        .context("restore needs --from DIR|s3://bucket/prefix")?;
    let opts = RestoreOptions {
        databases: databases(&flags)?,
        storage: storage(&flags).await?,
        from: Location::open(&from, Sse::Aes256).await?,
    };
    let report = restore(&opts).await?;
    println!("{report}");
    Ok(())
}

async fn run_migrate(args: &[String]) -> anyhow::Result<()> {
    let mut allowed = vec!["upload-dir", "to-bucket", "batch"];
    let names: Vec<(String, String)> = SERVICES
        .iter()
        .map(|s| (format!("{}-from", s.name), format!("{}-to", s.name)))
        .collect();
    for (from, to) in &names {
        allowed.push(from);
        allowed.push(to);
    }
    let flags = Flags::parse(args, &allowed)?;
    let mut sources = Vec::new();
    let mut targets = Vec::new();
    for s in &SERVICES {
        let from = flags
            .get(&format!("{}-from", s.name))
            .unwrap_or_else(|| default_sqlite(s.name));
        match DbUrl::parse(&from)? {
            DbUrl::Sqlite(path) => sources.push(path),
            DbUrl::Postgres(_) => bail!("--{}-from: the source is a sqlite:// URL", s.name),
        }
        let var = format!("{}_DATABASE_URL", s.name.to_uppercase());
        let to = flags
            .get(&format!("{}-to", s.name))
            .or_else(|| env(&var))
            .with_context(|| format!("the {} target: --{}-to or {var}", s.name, s.name))?;
        match DbUrl::parse(&to)? {
            DbUrl::Postgres(url) => targets.push(url),
            DbUrl::Sqlite(_) => bail!("--{}-to: the target is a postgres:// URL", s.name),
        }
    }
    let to_storage = match flags
        .get("to-bucket")
        .or_else(|| env("S3_ATTACHMENTS_BUCKET"))
    {
        Some(bucket) => Some(Storage::S3 {
            client: s3_client().await,
            bucket,
        }),
        None => None,
    };
    let batch = match flags.get("batch") {
        Some(b) => b
            .parse()
            .ok()
            .filter(|n| (1..=5000).contains(n))
            .context("--batch: 1 to 5000 rows")?,
        None => 500,
    };
    let opts = MigrateOptions {
        sources,
        targets,
        upload_dir: upload_dir(&flags),
        to_storage,
        batch,
    };
    if opts.to_storage.is_none() {
        println!("no --to-bucket or S3_ATTACHMENTS_BUCKET: attachment files stay where they are");
    }
    let report = migrate(&opts).await?;
    println!("{report}");
    Ok(())
}

pub async fn run(args: &[String]) -> ExitCode {
    let command = args.first().map(String::as_str).unwrap_or("help");
    let rest = args.get(1..).unwrap_or_default();
    let result = match command {
        "backup" => run_backup(rest).await,
        "restore" => run_restore(rest).await,
        "migrate-sqlite-to-postgres" => run_migrate(rest).await,
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(anyhow::anyhow!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docket-admin {command}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! `docket-admin restore`: a backup back into empty databases and into storage.
//!
//! Everything is checked before anything is written: the manifest's format, that each
//! service's backup is of the target's kind of database, that its migrations are exactly this
//! build's (a backup restores only into the build whose schema it has; start that build's
//! services on the restored data to upgrade it), that every target database is empty, and
//! that storage holds no different object under a key of the backup.
//!
//! Then the objects go first, each verified against its checksum (one already in storage
//! with the same bytes is left alone), so an interrupted restore can be run again: the
//! databases, written last, are still empty. SQLite: the snapshot file, verified, takes the
//! target's place (with its `-wal`, `-shm` and search-index files removed; the tickets
//! service rebuilds its index at start). Postgres: this build's migrations make the schema
//! when the database has none, then every table is loaded with `COPY … FROM STDIN` in one
//! transaction. At the end each table's rows are counted and checksummed against the
//! manifest.

use std::{collections::BTreeMap, path::Path, time::Instant};

use anyhow::{Context as _, bail};
use sqlx::{Connection as _, Executor as _};

use crate::{
    checksum::{file_sha256, sha256_hex},
    db::{self, DbUrl, EmptyTarget, Open, ident},
    location::Location,
    manifest::{self, Manifest, ServiceBackup},
    objects::Storage,
    services::{Backend, SERVICES, Service, migrations_differ},
};

#[derive(Debug)]
pub struct RestoreOptions {
    /// One per [`SERVICES`], in that order.
    pub databases: Vec<DbUrl>,
    pub storage: Storage,
    pub from: Location,
}

#[derive(Debug)]
pub struct RestoreReport {
    pub tables: usize,
    pub rows: u64,
    pub objects_written: usize,
    pub objects_already_there: usize,
    /// Databases that already held exactly the backup (a restore run again).
    pub databases_already_there: usize,
    pub seconds: f64,
}

impl std::fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "restored {} tables, {} rows (counts and checksums verified); {} databases already \
             held the backup; {} objects written, {} already in storage; took {:.2} s",
            self.tables,
            self.rows,
            self.databases_already_there,
            self.objects_written,
            self.objects_already_there,
            self.seconds
        )
    }
}

pub async fn read_manifest(from: &Location) -> anyhow::Result<Manifest> {
    if !from.exists(manifest::FILE).await? {
        bail!(
            "{} holds no {}: not a complete backup",
            from.describe(),
            manifest::FILE
        );
    }
    let bytes = from.get_bytes(manifest::FILE).await?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).context("reading the backup's manifest")?;
    if manifest.format != manifest::FORMAT {
        bail!(
            "the backup's layout is format {}, this build reads format {}",
            manifest.format,
            manifest::FORMAT
        );
    }
    Ok(manifest)
}

pub async fn restore(opts: &RestoreOptions) -> anyhow::Result<RestoreReport> {
    let started = Instant::now();
    let manifest = read_manifest(&opts.from).await?;

    // 1. Every check before any write.
    let mut plan: Vec<(&Service, &DbUrl, &ServiceBackup, Option<EmptyTarget>)> = Vec::new();
    for (service, url) in SERVICES.iter().zip(&opts.databases) {
        let name = service.name;
        let entry = manifest
            .services
            .get(name)
            .with_context(|| format!("the backup has no {name} database"))?;
        let backend = url.backend();
        if entry.backend != backend.as_str() {
            bail!(
                "{name}: the backup is of a {} database and the target {} is {}; restore into \
                 {} (then `docket-admin migrate-sqlite-to-postgres` to move it)",
                entry.backend,
                url.display(),
                backend.as_str(),
                entry.backend
            );
        }
        if let Some(diff) = migrations_differ(&entry.migrations, &service.build_migrations(backend))
        {
            bail!(
                "{name}: refusing to restore: the backup's schema is not this build's ({diff}). \
                 Restore with the build that made the backup ({}), then start this build's \
                 services to migrate it",
                manifest.tool
            );
        }
        let state = match db::check_empty(service, url).await {
            Ok(state) => Some(state),
            // A database that already holds exactly this backup (a restore run again after an
            // interruption) is left as it is.
            Err(not_empty) => match already_restored(service, entry, url).await {
                Ok(true) => None,
                _ => return Err(not_empty),
            },
        };
        plan.push((service, url, entry, state));
    }
    let mut to_write = Vec::new();
    let mut already = 0;
    for object in &manifest.objects.objects {
        match opts.storage.get(&object.key).await? {
            Some(found) if sha256_hex(&found.bytes) == object.sha256 => already += 1,
            Some(_) => bail!(
                "storage {} already holds a different object under {}; restore into empty \
                 storage",
                opts.storage.describe(),
                object.key
            ),
            None if !manifest.objects.copied => bail!(
                "the backup lists {} but does not hold its bytes (made without objects), and \
                 storage {} lacks it",
                object.key,
                opts.storage.describe()
            ),
            None => to_write.push(object),
        }
    }

    // 2. Objects.
    for object in &to_write {
        let bytes = opts
            .from
            .get_bytes(&manifest::object_path(&object.key))
            .await?;
        if bytes.len() as u64 != object.size || sha256_hex(&bytes) != object.sha256 {
            bail!(
                "the backup's copy of {} does not match its checksum",
                object.key
            );
        }
        opts.storage
            .put(&object.key, bytes, object.content_type.as_deref())
            .await?;
    }

    // 3. Databases, then 4. their verification.
    let mut tables = 0;
    let mut rows = 0;
    let mut already_restored_dbs = 0;
    for (service, url, entry, state) in plan {
        let Some(state) = state else {
            already_restored_dbs += 1;
            continue;
        };
        match url {
            DbUrl::Sqlite(path) => sqlite(entry, path, &opts.from).await,
            DbUrl::Postgres(u) => postgres(service, entry, u, state, &opts.from).await,
        }
        .with_context(|| format!("restoring {} into {}", service.name, url.display()))?;
        verify(service.name, entry, url).await?;
        tables += entry.tables.len();
        rows += entry.tables.iter().map(|t| t.rows).sum::<u64>();
    }
    Ok(RestoreReport {
        tables,
        rows,
        objects_written: to_write.len(),
        objects_already_there: already,
        databases_already_there: already_restored_dbs,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Fetches the backup file `name` and checks it against the manifest.
async fn verified_file(
    entry: &ServiceBackup,
    name: &str,
    from: &Location,
) -> anyhow::Result<std::path::PathBuf> {
    let listed = entry
        .files
        .iter()
        .find(|f| f.name == name)
        .with_context(|| format!("the manifest does not list {name}"))?;
    let path = from.fetch(name).await?;
    let (size, sha256) = file_sha256(&path).await?;
    if size != listed.size || sha256 != listed.sha256 {
        bail!("the backup's {name} does not match its checksum");
    }
    Ok(path)
}

async fn sqlite(entry: &ServiceBackup, path: &Path, from: &Location) -> anyhow::Result<()> {
    let file = entry.files.first().context("the manifest lists no file")?;
    let source = verified_file(entry, &file.name, from).await?;
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    // Empty (checked): what is there is a blank or freshly migrated file, and its index.
    for old in std::iter::once(path.to_owned()).chain(db::sqlite_companions(path)) {
        match std::fs::remove_file(&old) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", old.display())),
        }
    }
    let mut part = path.as_os_str().to_owned();
    part.push(".restoring");
    let part = std::path::PathBuf::from(part);
    std::fs::copy(&source, &part).with_context(|| format!("writing {}", part.display()))?;
    std::fs::rename(&part, path)
        .with_context(|| format!("moving {} into place", part.display()))?;
    Ok(())
}

async fn postgres(
    service: &Service,
    entry: &ServiceBackup,
    url: &str,
    state: EmptyTarget,
    from: &Location,
) -> anyhow::Result<()> {
    let mut conn = db::pg_connect(url).await?;
    if state == EmptyTarget::Blank {
        service
            .migrator(Backend::Postgres)
            .run(&mut conn)
            .await
            .context("applying this build's migrations")?;
    }
    let mut tx = conn.begin().await?;
    for table in service.transient {
        if entry.tables.iter().any(|t| t.name == *table) {
            tx.execute(format!("DELETE FROM {}", ident(table)).as_str())
                .await?;
        }
    }
    for table in &entry.tables {
        let name = table
            .file
            .as_deref()
            .with_context(|| format!("the manifest names no file for {}", table.name))?;
        let path = verified_file(entry, name, from).await?;
        let list = table
            .columns
            .iter()
            .map(|c| ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let file = tokio::fs::File::open(&path)
            .await
            .with_context(|| format!("reading {}", path.display()))?;
        let mut copy = tx
            .copy_in_raw(&format!("COPY {} ({list}) FROM STDIN", ident(&table.name)))
            .await?;
        copy.read_from(file).await?;
        copy.finish()
            .await
            .with_context(|| format!("loading {}", table.name))?;
    }
    tx.commit().await?;
    // Fresh statistics for the planner (the search migrations rely on them).
    for table in &entry.tables {
        conn.execute(format!("ANALYZE {}", ident(&table.name)).as_str())
            .await?;
    }
    let _ = conn.close().await;
    Ok(())
}

/// Whether `url` already holds exactly `entry`: the same migrations, and every table with the
/// manifest's rows.
async fn already_restored(
    service: &Service,
    entry: &ServiceBackup,
    url: &DbUrl,
) -> anyhow::Result<bool> {
    let found = match url {
        DbUrl::Sqlite(path) => {
            let mut conn = db::sqlite_open(path, Open::Existing).await?;
            let found = db::sqlite_migrations(&mut conn).await?;
            let _ = conn.close().await;
            found
        }
        DbUrl::Postgres(u) => {
            let mut conn = db::pg_connect(u).await?;
            let found = db::pg_migrations(&mut conn).await?;
            let _ = conn.close().await;
            found
        }
    };
    if found.as_deref() != Some(entry.migrations.as_slice()) {
        return Ok(false);
    }
    Ok(verify(service.name, entry, url).await.is_ok())
}

/// Counts and checksums every restored table against the manifest.
pub async fn verify(name: &str, entry: &ServiceBackup, url: &DbUrl) -> anyhow::Result<()> {
    let mut found = BTreeMap::new();
    match url {
        DbUrl::Sqlite(path) => {
            let mut conn = db::sqlite_open(path, Open::Existing).await?;
            for t in &entry.tables {
                found.insert(
                    t.name.clone(),
                    db::checksum(&mut conn, &t.name, &t.columns).await?,
                );
            }
            let _ = conn.close().await;
        }
        DbUrl::Postgres(u) => {
            let mut conn = db::pg_connect(u).await?;
            for t in &entry.tables {
                found.insert(
                    t.name.clone(),
                    db::checksum(&mut conn, &t.name, &t.columns).await?,
                );
            }
            let _ = conn.close().await;
        }
    }
    for t in &entry.tables {
        let sum = found[&t.name];
        if sum.rows != t.rows || sum.hex() != t.checksum {
            bail!(
                "{name}: table {} after the restore has {} rows (checksum {}), the backup {} ({})",
                t.name,
                sum.rows,
                sum.hex(),
                t.rows,
                t.checksum
            );
        }
    }
    Ok(())
}

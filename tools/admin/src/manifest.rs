//! `manifest.json`, written last into a backup: what it holds, each service's schema
//! version, and checksums of every table and object. A backup without one is incomplete.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The layout this build writes and reads.
pub const FORMAT: u32 = 1;
pub const FILE: &str = "manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// Unix milliseconds when the snapshot was taken.
    pub created_at_ms: i64,
    /// `docket-admin <version>` that wrote it.
    pub tool: String,
    pub services: BTreeMap<String, ServiceBackup>,
    pub objects: ObjectsBackup,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceBackup {
    /// `sqlite` or `postgres`: a backup restores into the same kind of database (the move from
    /// SQLite to Postgres is `migrate-sqlite-to-postgres`).
    pub backend: String,
    /// The sqlx migrations applied to the database when it was backed up.
    pub migrations: Vec<MigrationRecord>,
    pub tables: Vec<TableEntry>,
    /// Files of the backup that hold this database, relative to the backup's root.
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationRecord {
    pub version: i64,
    /// SHA-384 of the migration's SQL, as sqlx records it, in hex.
    pub checksum: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: u64,
    /// [`crate::checksum::TableSum`] over `columns`.
    pub checksum: String,
    /// Postgres: the file holding the table's `COPY` text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectsBackup {
    /// `local` or `s3`: where the objects were.
    pub storage: String,
    /// Whether the objects' bytes are in the backup (under `objects/<key>`), or only listed.
    pub copied: bool,
    pub objects: Vec<ObjectEntry>,
    /// Keys that rows of the backed-up attachments table name but storage did not hold when
    /// the backup read it (an upload still pending, or a delete under way).
    #[serde(default)]
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectEntry {
    pub key: String,
    pub size: u64,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// Where an object's bytes are kept inside a backup.
pub fn object_path(key: &str) -> String {
    format!("objects/{key}")
}

//! The services whose data the tool handles, and each one's migrations for either backend:
//! the very folders the services embed, so this build's schema is theirs.

use sqlx::migrate::Migrator;

use crate::manifest::MigrationRecord;

static AUTH_SQLITE: Migrator = sqlx::migrate!("../../services/auth/migrations/sqlite");
static AUTH_POSTGRES: Migrator = sqlx::migrate!("../../services/auth/migrations/postgres");
static TICKETS_SQLITE: Migrator = sqlx::migrate!("../../services/tickets/migrations/sqlite");
static TICKETS_POSTGRES: Migrator = sqlx::migrate!("../../services/tickets/migrations/postgres");
static ATTACHMENTS_SQLITE: Migrator =
    sqlx::migrate!("../../services/attachments/migrations/sqlite");
static ATTACHMENTS_POSTGRES: Migrator =
    sqlx::migrate!("../../services/attachments/migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug)]
pub struct Service {
    /// `auth`, `tickets` or `attachments`: the name in the manifest, in file names and in the
    /// `<NAME>_DATABASE_URL` variable.
    pub name: &'static str,
    sqlite: &'static Migrator,
    postgres: &'static Migrator,
    /// SQLite tables the migrations fill with one row of bookkeeping (so a freshly migrated
    /// database still counts as empty), and tables that exist on SQLite only because they
    /// serve its search index: neither is data that moves to Postgres.
    pub sqlite_only: &'static [&'static str],
    /// Tables of short-lived coordination rows (a sweep's lease), which a service writes as
    /// soon as it starts: they do not make a database non-empty, and a restore replaces them.
    pub transient: &'static [&'static str],
}

/// Every service that owns a database, parents first (tickets names users, attachments names
/// tickets; no foreign keys cross databases, so the order only makes reports read well).
pub const SERVICES: [Service; 3] = [
    Service {
        name: "auth",
        sqlite: &AUTH_SQLITE,
        postgres: &AUTH_POSTGRES,
        sqlite_only: &[],
        transient: &[],
    },
    Service {
        name: "tickets",
        sqlite: &TICKETS_SQLITE,
        postgres: &TICKETS_POSTGRES,
        // search_queue: changes waiting for the index file (derived data, rebuilt at start);
        // search_origin: which database the index file was built from; ticket_seq_floor: the
        // highest `seq` a deleted ticket had. Postgres keeps its search words in `tickets`.
        sqlite_only: &["search_queue", "search_origin", "ticket_seq_floor"],
        transient: &[],
    },
    Service {
        name: "attachments",
        sqlite: &ATTACHMENTS_SQLITE,
        postgres: &ATTACHMENTS_POSTGRES,
        sqlite_only: &[],
        transient: &["leases"],
    },
];

impl Service {
    pub fn migrator(&self, backend: Backend) -> &'static Migrator {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }

    /// The migrations this build applies on `backend`: versions and checksums, in order.
    pub fn build_migrations(&self, backend: Backend) -> Vec<MigrationRecord> {
        self.migrator(backend)
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| MigrationRecord {
                version: m.version,
                checksum: crate::checksum::hex(&m.checksum),
            })
            .collect()
    }

    /// Whether rows in `table` leave a database empty for a restore: SQLite tables the
    /// migrations seed with bookkeeping (see [`Service::sqlite_only`]), and
    /// [`Service::transient`] ones.
    pub fn ignored_when_empty(&self, table: &str) -> bool {
        matches!(table, "search_origin" | "ticket_seq_floor") || self.transient.contains(&table)
    }
}

/// Says how the migrations recorded somewhere (`found`) differ from this build's (`want`), or
/// `None` when they are the same.
pub fn migrations_differ(found: &[MigrationRecord], want: &[MigrationRecord]) -> Option<String> {
    if found == want {
        return None;
    }
    let show = |list: &[MigrationRecord]| {
        list.iter()
            .map(|m| format!("{} ({}…)", m.version, m.checksum.get(..12).unwrap_or("")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(format!(
        "recorded migrations [{}], this build's [{}]",
        show(found),
        show(want)
    ))
}

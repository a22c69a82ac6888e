//! SQLite: the search index, in a database file of its own beside the tickets' (`tickets.db`
//! → `tickets.db-search`), written by a writer of its own.
//!
//! SQLite lets one writer at a time into a file, and FTS5 merges its index's segments inside
//! commits. With the index in the tickets' file, every create, PATCH and comment waited now and
//! then behind a merge: under writes that never paused, creates stalled for 90–190 ms. Here the
//! writes only queue which tickets' text changed (`search_queue`, in the change's own
//! transaction, see [`super::search`]), and the index's writer applies the queue, in order,
//! from the text as committed: a merge now delays only the index.
//!
//! A search still sees every change committed before it began: it first waits for the index
//! to catch up with the writes committed so far ([`SearchIndex::caught_up`]), which takes one
//! round of the index's writer while writes go on, and nothing while none do. Reading
//! connections attach the file as [`SCHEMA`], so a search joins its matches to the tickets in
//! one query.
//!
//! The file is derived data. It records the database it was built from (`search_origin`),
//! its layout, and the last queue position applied; the service rebuilds it at start when it
//! is missing, from another database or layout, or behind what the queue still holds (lost
//! commits of its own), and applies the rest of the queue otherwise. Applied positions are
//! then deleted from the queue.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use docket_platform::{
    db::{Arg, Db, sqlite_file, tune_sqlite},
    health::{CheckOutcome, HealthCheck},
};
use futures_util::future::BoxFuture;
use sqlx::{AnyConnection, Connection as _, Executor as _, Row as _};
use tokio::sync::watch;

use super::search;

/// The schema name reading connections attach the index file under.
pub const SCHEMA: &str = "search";

/// The index: one row per ticket, keyed by its `seq`, with its public and its internal words
/// (see [`super::search`]). Contentless: the text stays in the tickets' file only.
const TICKET_TEXT: &str =
    "ticket_text USING fts5 (public, internal, content = '', contentless_delete = 1)";

/// The index file's layout: a file of another one is rebuilt.
const LAYOUT: i64 = 1;

/// At most this many queued changes go into one commit of the index.
const BATCH: i64 = 2048;

/// The index's writer starts a round at most this often. Each round's words become one new
/// segment of the index, and fewer, larger segments leave FTS5 less to merge; a search made
/// during writes waits for about one round.
const PACE: Duration = Duration::from_millis(5);

/// How long a search waits for the index to catch up before it gives up (503).
const CATCH_UP: Duration = Duration::from_secs(5);

/// The index writer's page cache, in KiB.
const WRITER_CACHE_KIB: u32 = 16 * 1024;

/// Applied queue positions are deleted once this many have gathered.
const PRUNE_EVERY: i64 = 4096;

/// A search waits on this to see every write committed before it.
#[derive(Debug, Clone)]
pub struct SearchIndex {
    commits: watch::Receiver<u64>,
    /// The count of the tickets database's commits the index holds (see [`Db::commits`]).
    indexed: watch::Receiver<u64>,
}

/// The index did not catch up in time ([`CATCH_UP`]).
#[derive(Debug)]
pub struct Behind;

impl SearchIndex {
    /// Waits until the index holds every change committed before the call.
    pub async fn caught_up(&self) -> Result<(), Behind> {
        if self.catches_up_within(CATCH_UP).await {
            Ok(())
        } else {
            Err(Behind)
        }
    }

    /// Whether the index holds, within `wait`, every change committed before the call.
    async fn catches_up_within(&self, wait: Duration) -> bool {
        let target = *self.commits.borrow();
        let mut indexed = self.indexed.clone();
        matches!(
            tokio::time::timeout(wait, indexed.wait_for(|&n| n >= target)).await,
            Ok(Ok(_))
        )
    }
}

/// Health: whether the index keeps up with the writes. Not critical: only searches wait for
/// it.
impl HealthCheck for SearchIndex {
    fn name(&self) -> &str {
        "search index"
    }

    fn check(&self) -> BoxFuture<'_, CheckOutcome> {
        Box::pin(async {
            if self.catches_up_within(Duration::from_secs(1)).await {
                CheckOutcome::pass("up to date")
            } else {
                CheckOutcome::warn("more than a second behind the writes")
            }
        })
    }
}

/// The tickets' database file and the index's file beside it, named after it.
#[derive(Debug, Clone)]
pub struct Files {
    pub tickets: String,
    pub index: String,
}

impl Files {
    /// The files of the SQLite database at `url`.
    pub fn for_url(url: &str) -> anyhow::Result<Self> {
        let file = sqlite_file(url).context("not a SQLite database URL")?;
        anyhow::ensure!(
            !file.is_empty() && file != ":memory:",
            "the tickets service's SQLite database must be a file"
        );
        Ok(Self {
            tickets: file.to_owned(),
            index: format!("{file}-search"),
        })
    }
}

/// Opens the index of the tickets database `db` (whose reading connections attach it as
/// [`SCHEMA`]), rebuilding or completing it first, then keeps it up to date in a task of its
/// own, until the last clone of the returned handle is dropped.
pub async fn start(db: &Db, files: &Files) -> anyhow::Result<SearchIndex> {
    let commits = db
        .commits()
        .context("the search index file is for SQLite only")?;
    let mut conn = open(files).await?;
    // Every commit so far is in the index once this returns.
    let start = *commits.borrow();
    let mut applied = bring_up_to_date(&mut conn).await?;
    let (indexed, indexed_rx) = watch::channel(start);
    let (db, mut new_commits, files) = (db.clone(), commits.clone(), files.clone());
    tokio::spawn(async move {
        let mut pruned = applied;
        loop {
            // Until every `SearchIndex` is gone.
            tokio::select! {
                changed = new_commits.changed() => if changed.is_err() { break },
                () = indexed.closed() => break,
            }
            loop {
                let round = Instant::now();
                let target = *new_commits.borrow_and_update();
                match apply_queue(&mut conn, applied).await {
                    Ok((last, drained)) => {
                        applied = last;
                        if drained {
                            indexed.send_replace(target);
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "updating the search index failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        match open(&files).await {
                            Ok(fresh) => conn = fresh,
                            Err(e) => tracing::error!(error = %e, "reopening the search index"),
                        }
                    }
                }
                tokio::time::sleep_until((round + PACE).into()).await;
            }
            if applied - pruned >= PRUNE_EVERY {
                match prune(&db, applied).await {
                    Ok(()) => pruned = applied,
                    Err(e) => tracing::warn!(error = %e, "emptying the search queue failed"),
                }
            }
        }
    });
    Ok(SearchIndex {
        commits,
        indexed: indexed_rx,
    })
}

/// Rebuilds the index from every ticket (`docket-tickets reindex`, see [`crate::reindex`]).
pub(crate) async fn rebuild_files(files: &Files) -> anyhow::Result<()> {
    let mut conn = open(files).await?;
    rebuild(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// The index writer's connection: the index file, with its tables created if missing, the
/// tickets' file attached as `source` (read only: this connection writes the index alone),
/// and the documents of a round on their way in, in memory (see [`apply_queue`]).
async fn open(files: &Files) -> anyhow::Result<AnyConnection> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", files.index);
    let mut conn = AnyConnection::connect(&url)
        .await
        .with_context(|| format!("opening the search index {}", files.index))?;
    tune_sqlite(
        &mut conn,
        WRITER_CACHE_KIB,
        &[("source".to_owned(), files.tickets.clone())],
    )
    .await?;
    conn.execute(
        format!(
            "CREATE TABLE IF NOT EXISTS main.state \
             (origin TEXT NOT NULL, layout INTEGER NOT NULL, applied INTEGER NOT NULL); \
             CREATE VIRTUAL TABLE IF NOT EXISTS main.{TICKET_TEXT}; \
             PRAGMA temp_store = MEMORY; \
             CREATE TEMP TABLE IF NOT EXISTS documents \
             (seq INTEGER PRIMARY KEY, public TEXT NOT NULL, internal TEXT NOT NULL); \
             CREATE TEMP TABLE IF NOT EXISTS gone (seq INTEGER PRIMARY KEY);"
        )
        .as_str(),
    )
    .await?;
    Ok(conn)
}

/// Rebuilds the index if it cannot be completed from the queue, then applies the queue; the
/// last position applied.
async fn bring_up_to_date(conn: &mut AnyConnection) -> anyhow::Result<i64> {
    let origin = origin(conn).await?;
    let state = sqlx::query("SELECT origin, layout, applied FROM main.state")
        .fetch_optional(&mut *conn)
        .await?;
    let applied = match state {
        Some(row)
            if row.try_get::<String, _>(0)? == origin && row.try_get::<i64, _>(1)? == LAYOUT =>
        {
            row.try_get::<i64, _>(2)?
        }
        _ => return rebuild(conn).await,
    };
    // The oldest position the queue still holds; every one before it has been deleted, and
    // was deleted only once applied. An index that has not applied them lost commits (a
    // crash with `synchronous = NORMAL`).
    let first_kept: i64 = sqlx::query_scalar(
        "SELECT coalesce((SELECT min(n) FROM source.search_queue), \
         (SELECT seq + 1 FROM source.sqlite_sequence WHERE name = 'search_queue'), 1)",
    )
    .fetch_one(&mut *conn)
    .await?;
    if applied < first_kept - 1 {
        tracing::warn!(applied, first_kept, "the search index is behind its queue");
        return rebuild(conn).await;
    }
    let mut applied = applied;
    loop {
        let (last, drained) = apply_queue(conn, applied).await?;
        applied = last;
        if drained {
            return Ok(applied);
        }
    }
}

/// The tickets database's identity (see the 0006 migration).
async fn origin(conn: &mut AnyConnection) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar("SELECT id FROM source.search_origin")
        .fetch_one(&mut *conn)
        .await?)
}

/// Writes every ticket's document anew, in one transaction, and ends with FTS5's `optimize`:
/// one segment on a level above those the service's writes will fill, as an index grown over
/// years keeps most of its words in its oldest, largest segments. The last queue position it
/// covers.
async fn rebuild(conn: &mut AnyConnection) -> anyhow::Result<i64> {
    let started = Instant::now();
    let origin = origin(conn).await?;
    let mut tx = conn.begin().await?;
    // In the transaction's snapshot of the tickets, with them.
    let head: i64 = sqlx::query_scalar(
        "SELECT coalesce((SELECT seq FROM source.sqlite_sequence \
         WHERE name = 'search_queue'), 0)",
    )
    .fetch_one(&mut *tx)
    .await?;
    // Anew rather than emptied: a contentless index deletes a row by noting it, row by row.
    (&mut *tx)
        .execute(
            format!(
                "DELETE FROM main.state; DROP TABLE main.ticket_text; \
             CREATE VIRTUAL TABLE main.{TICKET_TEXT}"
            )
            .as_str(),
        )
        .await?;
    let written = (&mut *tx)
        .execute(
            format!(
                "INSERT INTO main.ticket_text (rowid, public, internal) {}",
                search::sqlite_documents_sql("source.", "1 = 1")
            )
            .as_str(),
        )
        .await?
        .rows_affected();
    (&mut *tx)
        .execute("INSERT INTO main.ticket_text (ticket_text) VALUES ('optimize')")
        .await?;
    sqlx::query("INSERT INTO main.state (origin, layout, applied) VALUES ($1, $2, $3)")
        .bind(origin)
        .bind(LAYOUT)
        .bind(head)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(
        tickets = written,
        ms = started.elapsed().as_millis() as u64,
        "search index rebuilt"
    );
    Ok(head)
}

/// Applies up to [`BATCH`] queued changes after position `after`: the last position applied,
/// and whether that was all of the queue.
///
/// The documents are read first, each read a statement of its own, into tables of this
/// connection's own (`temp`); then written in one transaction of the index. Read in that
/// transaction, the tickets' file stayed pinned at one moment for as long as the index's
/// commit took, merges included, and its writer's checkpoints could not get past it: comments
/// at half load waited up to 0.2 s.
///
/// Every queued position up to the last one read was committed before the reads, so each
/// read sees at least the change it stands for; a ticket's text read now may be newer than
/// some of its queued changes, or the ticket gone since, and a later position writes it again.
async fn apply_queue(conn: &mut AnyConnection, after: i64) -> anyhow::Result<(i64, bool)> {
    let (last, count): (Option<i64>, i64) = sqlx::query_as(
        "SELECT max(n), count(*) FROM (SELECT n FROM source.search_queue \
         WHERE n > $1 ORDER BY n LIMIT $2)",
    )
    .bind(after)
    .bind(BATCH)
    .fetch_one(&mut *conn)
    .await?;
    let Some(last) = last else {
        return Ok((after, true));
    };
    let started = Instant::now();
    let queued = "SELECT ticket_seq FROM source.search_queue WHERE n > $1 AND n <= $2";
    for sql in [
        format!(
            "INSERT OR REPLACE INTO temp.documents (seq, public, internal) {}",
            search::sqlite_documents_sql("source.", &format!("t.seq IN ({queued})"))
        ),
        format!(
            "INSERT OR REPLACE INTO temp.gone (seq) {queued} \
             AND ticket_seq NOT IN (SELECT seq FROM source.tickets)"
        ),
    ] {
        sqlx::query(&sql)
            .bind(after)
            .bind(last)
            .execute(&mut *conn)
            .await?;
    }
    let read = started.elapsed();
    let mut tx = conn.begin().await?;
    // Deleted tickets first: FTS5 starts a new segment at every statement that opens a
    // savepoint, as these do, for the words pending before it (see `repo::search`), and none
    // are pending yet.
    for sql in [
        "DELETE FROM main.ticket_text WHERE rowid IN (SELECT seq FROM temp.gone)",
        "INSERT OR REPLACE INTO main.ticket_text (rowid, public, internal) \
         SELECT seq, public, internal FROM temp.documents",
    ] {
        (&mut *tx).execute(sql).await?;
    }
    sqlx::query("UPDATE main.state SET applied = $1")
        .bind(last)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    (&mut *conn)
        .execute("DELETE FROM temp.documents; DELETE FROM temp.gone;")
        .await?;
    // A search made meanwhile waits for this round: its time, for
    // `LOG_LEVEL=docket_tickets::repo::search_index=debug`.
    tracing::debug!(
        positions = count,
        read_ms = read.as_secs_f64() * 1e3,
        ms = started.elapsed().as_secs_f64() * 1e3,
        "search index round"
    );
    Ok((last, count < BATCH))
}

/// Deletes the queue's positions up to `applied`, through the tickets' own writer.
async fn prune(db: &Db, applied: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    tx.queue(
        "DELETE FROM search_queue WHERE n <= $1",
        vec![Arg::Int(applied)],
    );
    tx.commit().await
}

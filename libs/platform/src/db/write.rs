//! Write transactions, and SQLite's one writer.
//!
//! SQLite takes one writer at a time. Every statement sent through sqlx is a trip to the
//! connection's own thread and back, and while a writer makes its trips the next one waits;
//! each commit also appends its pages to the WAL and flushes the full-text index's pending
//! terms as a new segment. So on SQLite:
//! - writers of this process queue in order for their turn ([`SqliteWriter::turn`]) instead
//!   of sleeping in `busy_timeout` steps, and all use one connection, whose page cache stays
//!   warm (a connection's cache is dropped whenever another connection has written);
//! - a transaction's statements are queued and sent as one script: `BEGIN IMMEDIATE` rides
//!   with the first trip and `COMMIT` with the last;
//! - transactions that only queue (a create, a comment, an event) commit together: whoever
//!   gets the turn sends every waiting one, alike ones in one script, with one commit for all
//!   (group commit).
//!   A statement that fails takes only its own transaction with it; the others are sent again.
//!   Each learns the rows its statements changed ([`WriteTx::commit_counted`]), so a guarded
//!   update can go in a group too: the statements after it test SQLite's `changes()`.
//!
//! On Postgres the statements run one by one in an ordinary transaction; writers run
//! concurrently and lock rows.
//!
//! The tickets service is the only user of this module and of [`super::direct`] (a handle
//! from [`Db::open_attaching`](super::Db::open_attaching)); auth and attachments open
//! pool-only handles. Sending a script rests on sqlx 0.8's deprecated `execute_many` (one
//! call, in [`Script::run`]); sqlx 0.9 removes it. The plan, before the workspace moves past
//! `sqlx = "0.8.6"` (which cargo never does by itself): give the writer a connection of its
//! own driver (rusqlite on the same bundled `libsqlite3-sys`, on a thread of its own), which
//! runs a group's statements from their prepared-statement cache in one hand-off, with no SQL
//! text renumbered; then drop [`renumber`] and `Script`. Sending each statement on its own
//! through sqlx instead is simpler but costs a trip to the connection's thread per statement;
//! it replaces this only if the tickets benchmark's write scenarios (`--only
//! create,patch,comment,writes`, SQLite, 100 000 tickets) stay within 10 % in one run.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt as _;
use sqlx::{
    Any, AnyConnection, Connection as _, Executor as _,
    any::{AnyConnectOptions, AnyQueryResult},
};
use tokio::sync::{OwnedMutexGuard, oneshot, watch};

use super::{Arg, query_with, tune_sqlite};

type Statement = (String, Vec<Arg>);

/// At most this many transactions commit together, and at most this many arguments go in one
/// script (SQLite allows 32 766). Each script's statements stay prepared on the connection
/// (sqlx caches 100 scripts), so the cap also bounds that memory: with 256 a million-ticket
/// benchmark's peak memory grew by about 75 MiB.
const GROUP_MAX: usize = 32;
const ARGS_MAX: usize = 30_000;

/// The writer's page cache, in KiB: it walks every index a write touches.
const WRITER_CACHE_KIB: u32 = 32 * 1024;

/// SQLite's writer: the turn with its connection, and the transactions waiting to commit.
#[derive(Debug, Clone)]
pub(super) struct SqliteWriter {
    /// Whoever holds it writes, on this connection (`None` until the first write, and after a
    /// connection had to be closed).
    turn: Arc<tokio::sync::Mutex<Option<AnyConnection>>>,
    options: AnyConnectOptions,
    waiting: Arc<Mutex<Vec<Waiting>>>,
    /// Transactions committed so far (see [`Db::commits`](super::Db::commits)).
    commits: Arc<watch::Sender<u64>>,
}

type Turn = OwnedMutexGuard<Option<AnyConnection>>;

/// The turn's connection, opened if there is none.
async fn connection<'t>(
    turn: &'t mut Turn,
    options: &AnyConnectOptions,
) -> Result<&'t mut AnyConnection, sqlx::Error> {
    if turn.is_none() {
        let mut conn = AnyConnection::connect_with(options).await?;
        tune_sqlite(&mut conn, WRITER_CACHE_KIB, &[]).await?;
        **turn = Some(conn);
    }
    turn.as_mut().ok_or(sqlx::Error::PoolClosed)
}

#[derive(Debug)]
struct Waiting {
    statements: Vec<Statement>,
    /// The rows each statement changed, or the error that ended the transaction.
    done: oneshot::Sender<Result<Vec<u64>, sqlx::Error>>,
}

impl SqliteWriter {
    pub(super) fn new(options: AnyConnectOptions) -> Self {
        Self {
            turn: Arc::default(),
            options,
            waiting: Arc::default(),
            commits: Arc::new(watch::Sender::new(0)),
        }
    }

    pub(super) fn commits(&self) -> watch::Receiver<u64> {
        self.commits.subscribe()
    }

    /// Counts `n` transactions committed; before their callers hear so.
    fn committed(&self, n: usize) {
        self.commits.send_modify(|count| *count += n as u64);
    }

    /// The turn for a transaction of one's own.
    async fn take_turn(&self) -> Turn {
        self.turn.clone().lock_owned().await
    }

    /// Commits `statements` as one transaction, together with any others waiting; the rows
    /// each statement changed.
    async fn commit_grouped(&self, statements: Vec<Statement>) -> Result<Vec<u64>, sqlx::Error> {
        let (done, mut result) = oneshot::channel();
        lock(&self.waiting).push(Waiting { statements, done });
        tokio::select! {
            biased;
            // Someone else's turn carried it.
            outcome = &mut result => return outcome.unwrap_or_else(|_| Err(abandoned())),
            turn = self.turn.clone().lock_owned() => {
                // A caller that went away before its turn came is not committed.
                let group: Vec<_> = std::mem::take(&mut *lock(&self.waiting))
                    .into_iter()
                    .filter(|w| !w.done.is_closed())
                    .collect();
                if !group.is_empty() {
                    // Spawned: a caller that goes away must not cut short a commit that
                    // carries other callers' transactions.
                    // Not awaited: the caller's answer comes through `result`.
                    let writer = self.clone();
                    let mut turn = turn;
                    drop(tokio::spawn(async move {
                        commit_all(&writer, group, &mut turn).await;
                    }));
                }
            }
        }
        result.await.unwrap_or_else(|_| Err(abandoned()))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn abandoned() -> sqlx::Error {
    sqlx::Error::Protocol("the write was abandoned before it committed".into())
}

/// Commits every transaction of `group` that can be, in order, holding the turn: as many
/// transactions at a time as one commit may carry ([`GROUP_MAX`], [`ARGS_MAX`]).
async fn commit_all(writer: &SqliteWriter, mut group: Vec<Waiting>, turn: &mut Turn) {
    let conn = match connection(turn, &writer.options).await {
        Ok(conn) => conn,
        Err(e) => return fail_all(group, &e),
    };
    while !group.is_empty() {
        let mut take = 0;
        let mut args = 0;
        for w in &group {
            let n: usize = w.statements.iter().map(|(_, a)| a.len()).sum();
            if take > 0 && (take == GROUP_MAX || args + n > ARGS_MAX) {
                break;
            }
            take += 1;
            args += n;
        }
        let rest = group.split_off(take);
        match run_together(conn, &group).await {
            Ok(changed) => {
                writer.committed(group.len());
                for (w, changed) in group.into_iter().zip(changed) {
                    let _ = w.done.send(Ok(changed));
                }
                group = rest;
            }
            Err((culprit, e)) => {
                if conn.execute("ROLLBACK").await.is_err() {
                    // Closing the connection discards what it began; the next turn opens
                    // another.
                    **turn = None;
                    fail_all(group, &e);
                    return fail_all(rest, &e);
                }
                match culprit {
                    Some(culprit) => {
                        // Its own error to the transaction that failed; the others go again.
                        let failed = group.remove(culprit);
                        let _ = failed.done.send(Err(e));
                        group.extend(rest);
                    }
                    // BEGIN or COMMIT failed: nobody's statements are to blame.
                    None => {
                        fail_all(group, &e);
                        return fail_all(rest, &e);
                    }
                }
            }
        }
    }
}

/// Runs `group` as one transaction; the rows each transaction's statements changed, or the
/// error and the position of the transaction whose statement failed (`None`: BEGIN or
/// COMMIT failed).
///
/// Consecutive transactions of the same statements go out as one script, in pieces of 1, 2,
/// 4, … 32 of them, so that each script is one of a few that stay prepared on the connection.
/// A single script for the whole group would be new text for nearly every mix of kinds of
/// writes, prepared anew each time: creates and PATCHes taken in turn cost the service 181 µs
/// of CPU each that way, against 95 and 131 µs for either alone. With creates, PATCHes and
/// comments in turn (`tickets-bench --only writes`, 200 000 tickets) these pieces took the
/// CPU per write from 249–264 to 226–227 µs.
async fn run_together(
    conn: &mut AnyConnection,
    group: &[Waiting],
) -> Result<Vec<Vec<u64>>, (Option<usize>, sqlx::Error)> {
    conn.execute("BEGIN IMMEDIATE")
        .await
        .map_err(|e| (None, e))?;
    let mut changed = Vec::with_capacity(group.len());
    let mut at = 0;
    while at < group.len() {
        let alike = |w: &Waiting| {
            w.statements
                .iter()
                .map(|(sql, _)| sql)
                .eq(group[at].statements.iter().map(|(sql, _)| sql))
        };
        let run = group[at..].iter().take_while(|w| alike(w)).count();
        let piece = 1 << run.ilog2();
        let per = group[at].statements.len().max(1);
        let mut script = Script::new();
        for w in &group[at..at + piece] {
            for (sql, args) in &w.statements {
                script.push(sql, args.iter().cloned());
            }
        }
        match script.run(conn).await {
            Ok(rows) => changed.extend(rows.chunks(per).map(<[u64]>::to_vec)),
            Err((ran, e)) => return Err((Some(at + ran / per), e)),
        }
        at += piece;
    }
    conn.execute("COMMIT").await.map_err(|e| (None, e))?;
    Ok(changed)
}

fn fail_all(group: Vec<Waiting>, e: &sqlx::Error) {
    for w in group {
        let _ = w
            .done
            .send(Err(sqlx::Error::Protocol(format!("commit failed: {e}"))));
    }
}

/// Several statements sent as one query, their `$N` placeholders renumbered to share one list
/// of arguments.
struct Script {
    sql: String,
    args: Vec<Arg>,
    /// Statements pushed, counting `BEGIN IMMEDIATE` if it leads.
    statements: usize,
}

impl Script {
    fn new() -> Self {
        Self {
            sql: String::new(),
            args: Vec::new(),
            statements: 0,
        }
    }

    fn begin() -> Self {
        let mut script = Self::new();
        script.push("BEGIN IMMEDIATE", []);
        script
    }

    fn push(&mut self, sql: &str, args: impl IntoIterator<Item = Arg>) {
        self.sql.push_str(&renumber(sql, self.args.len()));
        self.sql.push_str(";\n");
        self.args.extend(args);
        self.statements += 1;
    }

    fn commit(&mut self) {
        self.push("COMMIT", []);
    }

    /// Runs the script: the rows each statement changed, or how many statements succeeded
    /// and the error of the next.
    async fn run(self, conn: &mut AnyConnection) -> Result<Vec<u64>, (usize, sqlx::Error)> {
        // Several statements in one prepared query: sqlx 0.8 supports it for SQLite only and
        // deprecates it (sqlx issue 3108; 0.9 drops it), binding `$N` across all of them.
        // Moving to 0.9 means SQLite triggers or a native connection here.
        #[allow(deprecated)]
        let mut results = query_with(&self.sql, self.args).execute_many(conn).await;
        let mut changed = Vec::with_capacity(self.statements);
        while let Some(result) = results.next().await {
            match result {
                Ok(done) => changed.push(AnyQueryResult::rows_affected(&done)),
                Err(e) => return Err((changed.len(), e)),
            }
        }
        Ok(changed)
    }
}

/// `sql` with each placeholder `$N` renumbered to `$(N + offset)`. The services' SQL has no
/// `$` in literals.
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

/// A write transaction from [`Db::begin_write`](super::Db::begin_write). Statements whose
/// result the caller does not need are [queued](Self::queue) and go out with the next
/// [`execute`](Self::execute) or the [`commit`](Self::commit); see the module's notes for why.
///
/// A failed statement ends the transaction: everything it did is rolled back. Dropped without
/// `commit` or `rollback` (a cancelled request), it rolls back too: Postgres through sqlx,
/// SQLite by closing the connection, which discards what it began.
pub struct WriteTx {
    inner: Inner,
    queued: Vec<Statement>,
}

enum Inner {
    Sqlite {
        writer: SqliteWriter,
        /// The turn and the connection, from the first trip on.
        held: Option<Held>,
    },
    Postgres(sqlx::Transaction<'static, Any>),
}

/// A SQLite transaction under way: the turn, its connection open.
struct Held {
    turn: Turn,
    /// Committed or rolled back: nothing to undo on drop.
    done: bool,
}

impl Held {
    fn conn(&mut self) -> Result<&mut AnyConnection, sqlx::Error> {
        self.turn.as_mut().ok_or(sqlx::Error::PoolClosed)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.done {
            // Closing a SQLite connection rolls back what it began; the next turn opens
            // another (waiting on `busy_timeout` while this one closes).
            *self.turn = None;
        }
    }
}

impl WriteTx {
    pub(super) fn sqlite(writer: SqliteWriter) -> Self {
        Self {
            inner: Inner::Sqlite { writer, held: None },
            queued: Vec::new(),
        }
    }

    pub(super) fn postgres(tx: sqlx::Transaction<'static, Any>) -> Self {
        Self {
            inner: Inner::Postgres(tx),
            queued: Vec::new(),
        }
    }

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

    /// Runs what is queued and commits. On SQLite a transaction that has only queued commits
    /// together with the others waiting.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.commit_counted().await.map(drop)
    }

    /// [`commit`](Self::commit), returning the rows changed by each statement that was still
    /// queued (those since the last [`execute`](Self::execute)), in order.
    pub async fn commit_counted(mut self) -> Result<Vec<u64>, sqlx::Error> {
        if let Inner::Sqlite { writer, held: None } = &self.inner {
            if self.queued.is_empty() {
                return Ok(Vec::new());
            }
            let statements = std::mem::take(&mut self.queued);
            return writer.commit_grouped(statements).await;
        }
        let changed = self.flush(true).await?;
        match self.inner {
            Inner::Sqlite { .. } => Ok(changed),
            Inner::Postgres(tx) => tx.commit().await.map(|()| changed),
        }
    }

    /// Undoes everything this transaction did; queued statements never run.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.inner {
            Inner::Sqlite {
                held: Some(mut held),
                ..
            } => {
                held.conn()?.execute("ROLLBACK").await?;
                held.done = true;
                Ok(())
            }
            Inner::Sqlite { held: None, .. } => Ok(()),
            Inner::Postgres(tx) => tx.rollback().await,
        }
    }

    /// Sends the queued statements (and `COMMIT` if `commit`); the rows each one changed.
    async fn flush(&mut self, commit: bool) -> Result<Vec<u64>, sqlx::Error> {
        let statements = std::mem::take(&mut self.queued);
        match &mut self.inner {
            Inner::Postgres(tx) => {
                let mut changed = Vec::with_capacity(statements.len());
                for (sql, args) in statements {
                    let done = query_with(&sql, args).execute(&mut **tx).await?;
                    changed.push(done.rows_affected());
                }
                Ok(changed)
            }
            Inner::Sqlite { writer, held } => {
                let first = held.is_none();
                let held = match held {
                    Some(held) => held,
                    None => {
                        let mut turn = writer.take_turn().await;
                        connection(&mut turn, &writer.options).await?;
                        held.insert(Held { turn, done: false })
                    }
                };
                let conn = held.conn()?;
                let mut script = if first {
                    Script::begin()
                } else {
                    Script::new()
                };
                let count = statements.len();
                for (sql, args) in statements {
                    script.push(&sql, args);
                }
                if commit {
                    script.commit();
                }
                match script.run(conn).await {
                    Ok(changed) => {
                        held.done = commit;
                        if commit {
                            writer.committed(1);
                        }
                        Ok(changed
                            .into_iter()
                            .skip(usize::from(first))
                            .take(count)
                            .collect())
                    }
                    Err((_, e)) => {
                        // If even the rollback fails, dropping closes the connection.
                        held.done = conn.execute("ROLLBACK").await.is_ok();
                        Err(e)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Row as _, migrate::Migrator};

    use super::*;
    use crate::db::{Db, Migrations};

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
        let db = Db::connect_attaching(&url, NONE, 4, &[]).await.unwrap();
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

    /// A commit is counted before its caller hears of it, grouped or not; a rollback is not.
    #[tokio::test]
    async fn commits_are_counted_before_they_answer() {
        let (_dir, db) = sqlite().await;
        let commits = db.commits().unwrap();
        assert_eq!(*commits.borrow(), 0);
        let mut tx = db.begin_write().await.unwrap();
        tx.queue(INSERT, kv("a", 1));
        tx.commit().await.unwrap();
        assert_eq!(*commits.borrow(), 1, "a grouped commit");
        let mut tx = db.begin_write().await.unwrap();
        tx.execute(INSERT, kv("b", 2)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(*commits.borrow(), 2, "a commit of its own");
        let mut tx = db.begin_write().await.unwrap();
        tx.execute(INSERT, kv("c", 3)).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(*commits.borrow(), 2, "a rollback");
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

    #[tokio::test]
    async fn waiting_transactions_commit_together_and_a_failure_stays_its_own() {
        let (_dir, db) = sqlite().await;
        let db = std::sync::Arc::new(db);
        // One holds the turn, so the others pile up behind it and commit as one group.
        let mut first = db.begin_write().await.unwrap();
        first.execute(INSERT, kv("k000", 0)).await.unwrap();
        let writers: Vec<_> = (1..=40)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut tx = db.begin_write().await.unwrap();
                    if i == 25 {
                        // Fails at its first statement: the transaction before it in the
                        // script must not take the blame.
                        tx.queue(INSERT, kv("k005", i));
                    }
                    tx.queue(INSERT, kv(&format!("k{i:03}"), i));
                    tx.queue(
                        "INSERT INTO t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING",
                        kv(&format!("x{i:03}"), 0),
                    );
                    if i == 20 {
                        // Number 10's key again: this transaction, and only it, fails.
                        tx.queue(INSERT, kv("k010", i));
                    }
                    tx.commit().await
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(
            lock(&db.writer.as_ref().unwrap().waiting).len(),
            40,
            "all forty wait for the turn"
        );
        first.commit().await.unwrap();
        for (i, w) in writers.into_iter().enumerate() {
            let outcome = w.await.unwrap();
            if i + 1 == 20 || i + 1 == 25 {
                assert!(Db::is_unique_violation(&outcome.unwrap_err()));
            } else {
                outcome.unwrap();
            }
        }
        let stored = rows(&db).await;
        let keys: Vec<_> = stored.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(stored.len(), 1 + 38 * 2, "{keys:?}");
        assert!(!keys.contains(&"k020") && !keys.contains(&"x020"));
        assert!(!keys.contains(&"k025") && !keys.contains(&"x025"));
        assert!(stored.contains(&("k010".into(), 10)));
        assert!(stored.contains(&("k005".into(), 5)));
    }

    #[tokio::test]
    async fn each_grouped_transaction_learns_the_rows_its_statements_changed() {
        let (_dir, db) = sqlite().await;
        let db = std::sync::Arc::new(db);
        let mut tx = db.begin_write().await.unwrap();
        tx.queue(INSERT, kv("a", 1));
        tx.commit().await.unwrap();
        let mut first = db.begin_write().await.unwrap();
        first.execute(INSERT, kv("b", 1)).await.unwrap();
        // Two guarded updates of the same version, each followed by an insert that only
        // happens if its update did; and a plain transaction of three statements.
        let guarded = |key: &'static str| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin_write().await.unwrap();
                tx.queue("UPDATE t SET v = v + 1 WHERE k = $1 AND v = $2", kv("a", 1));
                tx.queue(
                    "INSERT INTO t (k, v) SELECT $1, $2 WHERE changes() = 1",
                    kv(key, 0),
                );
                tx.commit_counted().await.unwrap()
            })
        };
        let one = guarded("won-1");
        let two = guarded("won-2");
        let plain = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin_write().await.unwrap();
                tx.queue(INSERT, kv("c", 1));
                tx.queue("UPDATE t SET v = 7 WHERE k IN ('b', 'c')", vec![]);
                tx.queue("DELETE FROM t WHERE k = 'nothing'", vec![]);
                tx.commit_counted().await.unwrap()
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(lock(&db.writer.as_ref().unwrap().waiting).len(), 3);
        first.commit().await.unwrap();
        let (one, two) = (one.await.unwrap(), two.await.unwrap());
        assert_eq!(plain.await.unwrap(), [1, 2, 0]);
        let mut outcomes = [one.clone(), two.clone()];
        outcomes.sort();
        assert_eq!(
            outcomes,
            [vec![0, 0], vec![1, 1]],
            "exactly one update wins"
        );
        let winner = if one == [1, 1] { "won-1" } else { "won-2" };
        let stored = rows(&db).await;
        let keys: Vec<_> = stored.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c", winner]);
        assert!(stored.contains(&("a".into(), 2)));
    }
}

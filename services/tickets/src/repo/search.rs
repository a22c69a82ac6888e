//! The search documents: one per ticket, rewritten in the transaction of every change to the
//! ticket's text, so a search never sees a half-applied change (see the 0002 migrations). On
//! Postgres a new comment appends its words instead ([`append_comment_sql`]).
//!
//! - SQLite: a row of the contentless FTS5 table `ticket_text`, keyed by the ticket's `seq`,
//!   with the columns `public` and `internal`.
//! - Postgres: the tsvector column `search` of the ticket itself, the public words at weight A
//!   and the internal ones at D (see the 0005 migration).
//!
//! Public text is the subject, the description and the public comments; internal text is the
//! internal notes.

use docket_platform::db::{Arg, Backend, Db, WriteTx};
use uuid::Uuid;

/// SQLite: the ticket `$1`'s `seq`, the rowid of its search document. An error ("datatype
/// mismatch") if there is no such ticket, where a missing rowid would let FTS5 pick one.
///
/// The single-ticket statements write their one row as `INSERT … VALUES`. FTS5 writes the words
/// of a transaction's statements as a new segment of its index whenever a statement opens a
/// savepoint, and SQLite opens one for any statement inside a transaction that may write
/// several rows, as `INSERT … SELECT` may. Several writers' transactions commit together (see
/// `WriteTx`), so with `SELECT` each ticket written added a segment, and FTS5 merged whole
/// levels of them inside commits (`crisismerge`) many times as often: writes stalled for up to
/// 2.6 s at a million tickets (services/tickets/BENCH.md, tenth session).
const SQLITE_SEQ: &str = "coalesce((SELECT seq FROM tickets WHERE id = $1), 'no such ticket')";

/// Which tickets' documents a fill rewrites.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fill {
    One,
    /// One, if the statement before changed a row (SQLite's `changes()`).
    OneIfChanged,
    All,
}

/// The statement that (re)writes the documents of one ticket (`$1`), or of every ticket.
fn fill_sql(backend: Backend, fill: Fill) -> String {
    // Word order across comments does not matter to a search of words.
    let agg = match backend {
        Backend::Sqlite => "group_concat(c.body, ' ')",
        Backend::Postgres => "string_agg(c.body, ' ')",
    };
    let comments = |internal: u8| {
        format!(
            "(SELECT {agg} FROM comments c WHERE c.ticket_id = t.id AND c.internal = {internal})"
        )
    };
    let public = format!(
        "t.subject || ' ' || t.description || COALESCE(' ' || {}, '')",
        comments(0)
    );
    let internal = format!("COALESCE({}, '')", comments(1));
    let filter = match fill {
        Fill::One => " WHERE t.id = $1",
        Fill::OneIfChanged => " WHERE t.id = $1 AND changes() = 1",
        Fill::All => "",
    };
    match backend {
        // One row as `VALUES`, not `SELECT`: see [`SQLITE_SEQ`].
        Backend::Sqlite if fill == Fill::One => format!(
            "INSERT OR REPLACE INTO ticket_text (rowid, public, internal) VALUES \
             ({SQLITE_SEQ}, (SELECT {public} FROM tickets t{filter}), \
             (SELECT {internal} FROM tickets t{filter}))"
        ),
        Backend::Sqlite => format!(
            "INSERT OR REPLACE INTO ticket_text (rowid, public, internal) \
             SELECT t.seq, {public}, {internal} FROM tickets t{filter}"
        ),
        Backend::Postgres => format!(
            "UPDATE tickets u SET search = {} || to_tsvector('simple', d.internal_text) \
             FROM (SELECT t.id, {public} AS public_text, {internal} AS internal_text \
             FROM tickets t{filter}) d WHERE u.id = d.id",
            public_words("d.public_text")
        ),
    }
}

/// Rewrites the search documents of one ticket (queued in `tx`). Queue it after the change
/// to the text: on Postgres the transaction must already hold the ticket's row lock (it has
/// updated the row), so a concurrent comment cannot be left out.
pub fn refresh(tx: &mut WriteTx, backend: Backend, ticket_id: Uuid) {
    tx.queue(
        fill_sql(backend, Fill::One),
        vec![Arg::Text(ticket_id.to_string())],
    );
}

/// [`refresh`], but only if the statement queued just before it changed a row (see
/// [`events::insert_if_changed`](super::events::insert_if_changed)). SQLite only. Its row
/// depends on `changes()`, so it stays `INSERT … SELECT` and writes a segment of its own (see
/// [`SQLITE_SEQ`]); edits of a ticket's text are rarer than comments and creates.
pub fn refresh_if_changed(tx: &mut WriteTx, ticket_id: Uuid) {
    tx.queue(
        fill_sql(Backend::Sqlite, Fill::OneIfChanged),
        vec![Arg::Text(ticket_id.to_string())],
    );
}

/// Postgres: the assignments of an `UPDATE tickets` that add a comment's words (the text
/// parameter `body`) to the ticket's documents, as [`refresh`] would after the comment is
/// inserted, without reading and tokenizing every earlier comment again. A tsvector is a set
/// of words with positions; only a phrase search would tell the two apart, and there is none.
///
/// Public words go first. A document keeps at most 256 positions of a word, and none past
/// 16 383: `||` adds the right side's positions of a word only while the left side's leave
/// room. Appended last, a public word that an internal note of a long ticket already holds
/// would keep only the internal weight, and its requester would not find it.
pub fn append_comment_sql(body: &str, internal: bool) -> String {
    if internal {
        format!("search = search || to_tsvector('simple', {body})")
    } else {
        format!("search = {} || search", public_words(body))
    }
}

/// Postgres: the tsvector of the public text `text` (an SQL expression). Public words weigh A;
/// internal ones keep the default D, which a requester's search filters out (see the 0005
/// migration).
pub fn public_words(text: &str) -> String {
    format!("setweight(to_tsvector('simple', {text}), 'A')")
}

/// Postgres: the condition that the ticket `t`'s words match the tsquery `query`; with
/// `internal` false, only its public words (a requester's search). The first test is the one
/// the GIN index answers; the second, on the rows it finds, drops the internal notes' words.
pub fn postgres_match(query: &str, internal: bool) -> String {
    if internal {
        format!("t.search @@ {query}")
    } else {
        format!("t.search @@ {query} AND ts_filter(t.search, '{{a}}') @@ {query}")
    }
}

/// The text a ticket's public document holds before it has comments (what [`refresh`] would
/// index then).
pub fn new_ticket_text(subject: &str, description: &str) -> String {
    format!("{subject} {description}")
}

/// Queues the search document of a ticket just inserted in `tx`, before it has comments:
/// [`new_ticket_text`] in `public`, nothing in `internal`. SQLite only: on Postgres the
/// ticket's INSERT fills its own columns, so the row is not written twice.
pub fn index_new(tx: &mut WriteTx, ticket_id: Uuid, text: String) {
    tx.queue(
        format!("INSERT INTO ticket_text (rowid, public, internal) VALUES ({SQLITE_SEQ}, $2, '')"),
        vec![Arg::Text(ticket_id.to_string()), Arg::Text(text)],
    );
}

/// Removes a ticket's search document (queued in `tx`; on Postgres it goes with the row).
pub fn remove(tx: &mut WriteTx, backend: Backend, ticket_id: Uuid) {
    if backend == Backend::Sqlite {
        tx.queue(
            "DELETE FROM ticket_text WHERE rowid = (SELECT seq FROM tickets WHERE id = $1)",
            vec![Arg::Text(ticket_id.to_string())],
        );
    }
}

/// SQLite: one step of merging the search index, for the writer's idle time
/// ([`Db::when_idle`]). FTS5 writes each commit's new words as a small segment; the index
/// is kept searchable by merging them. FTS5 would do that inside whichever commit is due
/// (`automerge`), and every write waiting for that commit would wait for the merge too; the
/// 0005 migration turns that off, and this merges about 16 pages at a time, only while the
/// writer is idle. A positive count merges only a level that holds 4 or more segments
/// (`usermerge`), the shape `automerge` kept. If writes never pause, FTS5 still merges a level
/// once it reaches 16 segments (`crisismerge`), inside a commit.
pub const SQLITE_IDLE_MERGE: &str =
    "INSERT INTO ticket_text (ticket_text, rank) VALUES ('merge', 16)";

/// Rewrites every ticket's search documents: for data loaded behind the service's back (the
/// benchmark's seeding). On SQLite it then merges the whole index into one segment, on a level
/// above any the service's writes will fill, as an index grown over years keeps most of its
/// words in its oldest, largest segments. (Merging as the idle time does left large segments
/// from the load on low levels, which FTS5 then merged again with the first writes' small
/// ones inside a commit: a create stalled for 2 s.)
pub async fn rebuild_all(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query(&fill_sql(db.backend, Fill::All))
        .execute(&db.pool)
        .await?;
    if db.backend == Backend::Sqlite {
        sqlx::query("INSERT INTO ticket_text (ticket_text) VALUES ('optimize')")
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}

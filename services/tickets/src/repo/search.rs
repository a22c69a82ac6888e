//! The search documents: one per ticket, holding its public and its internal words.
//!
//! - SQLite: a row of the contentless FTS5 table `ticket_text`, keyed by the ticket's `seq`,
//!   with the columns `public` and `internal`, in a database file of its own (see
//!   [`super::search_index`]). A change to a ticket's text queues the ticket in
//!   `search_queue`, in the change's own transaction ([`refresh`]); the index's writer
//!   rewrites the document from the text as committed.
//! - Postgres: the tsvector column `search` of the ticket itself, the public words at weight A
//!   and the internal ones at D (see the 0005 migration), rewritten in the transaction of
//!   every change to the ticket's text, so a search never sees a half-applied change. A new
//!   comment appends its words instead ([`append_comment_sql`]).
//!
//! Public text is the subject, the description and the public comments; internal text is the
//! internal notes.

use docket_platform::db::{Arg, Backend, Db, WriteTx};
use uuid::Uuid;

/// SQL expressions of the public and of the internal text of a ticket `t`, its comments in
/// the schema `schema` (empty, or a name and a dot).
fn documents(backend: Backend, schema: &str) -> (String, String) {
    // Word order across comments does not matter to a search of words.
    let agg = match backend {
        Backend::Sqlite => "group_concat(c.body, ' ')",
        Backend::Postgres => "string_agg(c.body, ' ')",
    };
    let comments = |internal: u8| {
        format!(
            "(SELECT {agg} FROM {schema}comments c \
             WHERE c.ticket_id = t.id AND c.internal = {internal})"
        )
    };
    (
        format!(
            "t.subject || ' ' || t.description || COALESCE(' ' || {}, '')",
            comments(0)
        ),
        format!("COALESCE({}, '')", comments(1)),
    )
}

/// SQLite: `seq`, public text and internal text of the tickets `t` of the schema `schema`
/// (empty, or a name and a dot) that `filter` (an SQL condition) picks: the rows the index's
/// writer writes.
pub fn sqlite_documents_sql(schema: &str, filter: &str) -> String {
    let (public, internal) = documents(Backend::Sqlite, schema);
    format!("SELECT t.seq, {public}, {internal} FROM {schema}tickets t WHERE {filter}")
}

/// Postgres: the statement that rewrites the search document of one ticket (`$1`), or of
/// every ticket (`one` false).
fn postgres_fill_sql(one: bool) -> String {
    let (public, internal) = documents(Backend::Postgres, "");
    let filter = if one { " WHERE t.id = $1" } else { "" };
    format!(
        "UPDATE tickets u SET search = {} || to_tsvector('simple', d.internal_text) \
         FROM (SELECT t.id, {public} AS public_text, {internal} AS internal_text \
         FROM tickets t{filter}) d WHERE u.id = d.id",
        public_words("d.public_text")
    )
}

/// SQLite: queues the ticket `$1` for the index's writer, if `condition` (SQL) holds.
fn sqlite_queue_sql(condition: &str) -> String {
    format!(
        "INSERT INTO search_queue (ticket_seq) SELECT seq FROM tickets WHERE id = $1{condition}"
    )
}

/// Rewrites the search documents of one ticket (queued in `tx`). Queue it after the change
/// to the text: on Postgres the transaction must already hold the ticket's row lock (it has
/// updated the row), so a concurrent comment cannot be left out. On SQLite it queues the
/// ticket for the index (queue it before a delete, while the ticket's `seq` can be found).
pub fn refresh(tx: &mut WriteTx, backend: Backend, ticket_id: Uuid) {
    let sql = match backend {
        Backend::Sqlite => sqlite_queue_sql(""),
        Backend::Postgres => postgres_fill_sql(true),
    };
    tx.queue(sql, vec![Arg::Text(ticket_id.to_string())]);
}

/// SQLite: [`refresh`], but only if the statement queued just before it changed a row (see
/// [`events::insert_if_changed`](super::events::insert_if_changed)).
pub fn refresh_if_changed(tx: &mut WriteTx, ticket_id: Uuid) {
    tx.queue(
        sqlite_queue_sql(" AND changes() = 1"),
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

/// SQLite: queues a ticket about to be deleted for the index, and keeps its `seq` from being
/// given to a new ticket (see the 0006 migration). Queue it before the delete.
pub fn remove(tx: &mut WriteTx, backend: Backend, ticket_id: Uuid) {
    if backend == Backend::Sqlite {
        refresh(tx, backend, ticket_id);
        tx.queue(
            "UPDATE ticket_seq_floor SET seq = max(seq, \
             coalesce((SELECT seq FROM tickets WHERE id = $1), 0))",
            vec![Arg::Text(ticket_id.to_string())],
        );
    }
}

/// SQLite: the `seq` of a new ticket, above every ticket's there is or was.
pub const SQLITE_NEXT_SEQ: &str = "(SELECT max(coalesce((SELECT max(seq) FROM tickets), 0), \
     (SELECT seq FROM ticket_seq_floor)) + 1)";

/// Postgres: rewrites every ticket's search document (`docket-tickets reindex`, see
/// [`crate::reindex`]). SQLite's index is rebuilt by
/// [`search_index::rebuild_files`](super::search_index::rebuild_files).
pub(crate) async fn rebuild_all(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query(&postgres_fill_sql(false))
        .execute(&db.pool)
        .await?;
    Ok(())
}

//! Every shape of ticket list — each filter, a requester's own list, a search by staff or by a
//! requester, a later page — can be served by an index on both databases: none needs a full
//! scan of `tickets`, and a search can use the search index. A test database holds too few
//! rows for Postgres's planner to prefer an index, so sequential scans are switched off first:
//! a plan that still has one has no index to use instead. For a search, ordered index walks
//! are switched off too (on a tiny table the planner walks tickets newest first and filters
//! them, as it also does at a million tickets for a common word), so the plan shows whether
//! the search index can answer the words. A unit test: the list's SQL is the repository's own
//! (`tickets::list_sql`), not part of the crate's interface.

use docket_platform::{db::Db, pagination::Cursor};
use docket_testkit::{Backend, TestDb, backend_tests};
use sqlx::{Executor as _, Row as _};
use uuid::Uuid;

use crate::{
    domain::{Priority, SearchQuery, Status, access::ListScope},
    repo::{
        query_with, search_index,
        tickets::{ListFilter, list_sql},
    },
    startup::MIGRATIONS,
};

/// A migrated database as the service opens it (on SQLite with its search index file), and
/// what must live as long as it.
struct Migrated {
    db: Db,
    _index: Option<search_index::SearchIndex>,
    _files: TestDb,
}

async fn spawn(backend: Backend) -> Migrated {
    let files = TestDb::new(backend).await;
    let index =
        (backend == Backend::Sqlite).then(|| search_index::Files::for_url(&files.url).unwrap());
    let attach: Vec<_> = index
        .iter()
        .map(|f| (search_index::SCHEMA, f.index.as_str()))
        .collect();
    let db = Db::connect_attaching(&files.url, MIGRATIONS, 4, &attach)
        .await
        .unwrap();
    let index = match &index {
        Some(f) => Some(search_index::start(&db, f).await.unwrap()),
        None => None,
    };
    Migrated {
        db,
        _index: index,
        _files: files,
    }
}

backend_tests!(every_list_shape_is_served_by_an_index);

/// What a shape's plan must show besides no full scan.
#[derive(Clone, Copy)]
enum Expect {
    /// This index, by its name (the same on both databases).
    Index(&'static str),
    /// The search index: FTS5's `ticket_text`, or a Postgres GIN index on a search column.
    SearchIndex,
    /// Any index: with a cursor, a filter or a requester's scope besides the words, a tiny
    /// table gives Postgres no reason to prefer one (for a requester's few tickets it should
    /// start from them).
    AnyIndex,
}

fn shapes() -> Vec<(&'static str, ListFilter, Option<Cursor>, Expect)> {
    let someone = Uuid::now_v7();
    let staff = ListFilter::everything();
    let requester = ListFilter {
        scope: ListScope::RequestedBy(someone),
        search_internal: false,
        ..staff.clone()
    };
    let words = |q: &str| SearchQuery::parse(q).unwrap();
    let later = Cursor {
        at: 1_700_000_000_000,
        id: Uuid::now_v7().to_string(),
    };
    let created = Expect::Index("tickets_created_idx");
    vec![
        ("first page", staff.clone(), None, created),
        ("a later page", staff.clone(), Some(later.clone()), created),
        (
            "status",
            ListFilter {
                status: Some(Status::Waiting),
                ..staff.clone()
            },
            None,
            Expect::Index("tickets_status_idx"),
        ),
        (
            "priority",
            ListFilter {
                priority: Some(Priority::Urgent),
                ..staff.clone()
            },
            None,
            Expect::Index("tickets_priority_idx"),
        ),
        (
            "assignee",
            ListFilter {
                assignee_id: Some(someone),
                ..staff.clone()
            },
            None,
            Expect::Index("tickets_assignee_idx"),
        ),
        (
            "requester_id",
            ListFilter {
                requester_id: Some(someone),
                ..staff.clone()
            },
            None,
            Expect::Index("tickets_requester_idx"),
        ),
        (
            "a requester's own, a later page",
            requester.clone(),
            Some(later.clone()),
            Expect::Index("tickets_requester_idx"),
        ),
        (
            "search by staff",
            ListFilter {
                q: words("printer kx0042"),
                ..staff.clone()
            },
            None,
            Expect::SearchIndex,
        ),
        (
            "search by staff with a status, a later page",
            ListFilter {
                q: words("printer"),
                status: Some(Status::Open),
                ..staff.clone()
            },
            Some(later),
            Expect::AnyIndex,
        ),
        (
            "search by a requester",
            ListFilter {
                q: words("printer"),
                ..requester
            },
            None,
            Expect::AnyIndex,
        ),
    ]
}

async fn every_list_shape_is_served_by_an_index(backend: Backend) {
    let app = spawn(backend).await;
    let mut conn = app.db.pool.acquire().await.unwrap();
    if backend == Backend::Postgres {
        conn.execute("SET enable_seqscan = off").await.unwrap();
    }
    for (name, filter, after, expect) in shapes() {
        if backend == Backend::Postgres {
            let walks = if filter.q.is_some() { "off" } else { "on" };
            conn.execute(format!("SET enable_indexscan = {walks}").as_str())
                .await
                .unwrap();
        }
        let (sql, args) = list_sql(backend, &filter, after.as_ref(), 20);
        let explain = match backend {
            Backend::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
            Backend::Postgres => format!("EXPLAIN {sql}"),
        };
        let plan: Vec<String> = query_with(&explain, args)
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .iter()
            .map(|row| match backend {
                Backend::Sqlite => row.get::<String, _>("detail"),
                Backend::Postgres => row.get::<String, _>(0),
            })
            .collect();
        let full_scan = plan.iter().any(|line| match backend {
            // `SCAN t USING INDEX …` walks an index in order; `SCAN t` alone reads the table.
            Backend::Sqlite => line.trim() == "SCAN t",
            Backend::Postgres => line.contains("Seq Scan on tickets"),
        });
        assert!(
            !full_scan,
            "{name} scans the whole table:\n{}",
            plan.join("\n")
        );
        let shows = |what: &str| plan.iter().any(|line| line.contains(what));
        let expected = match (expect, backend) {
            (Expect::Index(index), _) => shows(index),
            (Expect::SearchIndex, Backend::Sqlite) => shows("ticket_text VIRTUAL TABLE"),
            (Expect::SearchIndex, Backend::Postgres) => shows("tickets_search_idx"),
            (Expect::AnyIndex, _) => true,
        };
        assert!(
            expected,
            "{name} does not use the index it should:\n{}",
            plan.join("\n")
        );
    }
}

/// The search index keeps a small pending list (migrations 0004 and 0005): every search reads
/// the whole list, and the default of 4 MB made a rare word cost 20× more after a few hundred
/// writes.
#[tokio::test]
async fn postgres_search_index_keeps_a_small_pending_list() {
    let app = spawn(Backend::Postgres).await;
    let options: Option<String> = sqlx::query_scalar(
        "SELECT array_to_string(c.reloptions, ',') FROM pg_class c \
         WHERE c.relname = 'tickets_search_idx' AND pg_table_is_visible(c.oid)",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(options.as_deref(), Some("gin_pending_list_limit=256"));
}

//! SQLite's search index, in its file of its own (`repo::search_index`): built when missing,
//! completed from the queue after the service was away, rebuilt when it cannot be trusted.
//! Through the repository functions, on real files.

use docket_platform::db::Db;
use docket_tickets::{
    domain::{Description, Priority, SearchQuery, Subject},
    repo::{
        search_index::{self, Files, SCHEMA, SearchIndex},
        tickets::{self, ListFilter, NewTicket},
    },
    startup::MIGRATIONS,
};
use sqlx::{Connection as _, Executor as _};
use uuid::Uuid;

struct Setup {
    _dir: tempfile::TempDir,
    db: Db,
    files: Files,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tickets.db").display());
    let files = Files::for_url(&url).unwrap();
    let db = Db::connect_attaching(&url, MIGRATIONS, 4, &[(SCHEMA, files.index.as_str())])
        .await
        .unwrap();
    Setup {
        _dir: dir,
        db,
        files,
    }
}

async fn create(db: &Db, subject: &str) -> Uuid {
    let new = NewTicket {
        subject: &Subject::parse(subject).unwrap(),
        description: &Description::parse("Written by the test").unwrap(),
        priority: Priority::Normal,
        requester_id: Uuid::now_v7(),
    };
    tickets::insert(db, new).await.unwrap().id
}

/// The subjects a staff search for `words` finds, newest first, once `index` has caught up.
async fn found(db: &Db, index: &SearchIndex, words: &str) -> Vec<String> {
    index.caught_up().await.unwrap();
    let filter = ListFilter {
        q: SearchQuery::parse(words).unwrap(),
        ..ListFilter::everything()
    };
    tickets::list(db, &filter, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(t, _)| t.subject)
        .collect()
}

/// A connection to the index file itself, behind the service's back.
async fn index_file(files: &Files) -> sqlx::AnyConnection {
    sqlx::AnyConnection::connect(&format!("sqlite://{}", files.index))
        .await
        .unwrap()
}

/// A statement on the index file itself.
async fn on_index_file(files: &Files, sql: &str) {
    let mut conn = index_file(files).await;
    conn.execute(sql).await.unwrap();
    conn.close().await.unwrap();
}

/// Lets the index's task see that its last handle is gone.
async fn stop(index: SearchIndex) {
    drop(index);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
}

#[tokio::test]
async fn the_index_is_built_kept_completed_and_rebuilt() {
    let Setup { _dir, db, files } = setup().await;
    create(&db, "Alpha one").await;
    create(&db, "Beta two").await;

    // No file yet: built from the tickets.
    let index = search_index::start(&db, &files).await.unwrap();
    assert_eq!(found(&db, &index, "alpha").await, ["Alpha one"]);
    // Kept up to date: a search sees what was committed before it.
    create(&db, "Alpha three").await;
    assert_eq!(
        found(&db, &index, "alpha").await,
        ["Alpha three", "Alpha one"]
    );
    stop(index).await;

    // Written while no index ran: applied from the queue at the next start, and only that.
    // The document of "Alpha one", removed behind the service's back, stays missing, which a
    // rebuild would have restored.
    create(&db, "Alpha four").await;
    on_index_file(
        &files,
        "DELETE FROM ticket_text WHERE rowid = (SELECT min(rowid) FROM ticket_text)",
    )
    .await;
    let index = search_index::start(&db, &files).await.unwrap();
    assert_eq!(
        found(&db, &index, "alpha").await,
        ["Alpha four", "Alpha three"]
    );
    stop(index).await;

    // A file built from another database is rebuilt.
    on_index_file(&files, "UPDATE state SET origin = 'another database'").await;
    let index = search_index::start(&db, &files).await.unwrap();
    assert_eq!(
        found(&db, &index, "alpha").await,
        ["Alpha four", "Alpha three", "Alpha one"]
    );
    stop(index).await;

    // A file that lost commits the queue no longer holds is rebuilt.
    let mut tx = db.begin_write().await.unwrap();
    tx.queue("DELETE FROM search_queue", vec![]);
    tx.commit().await.unwrap();
    on_index_file(
        &files,
        "UPDATE state SET applied = 0; DELETE FROM ticket_text",
    )
    .await;
    let index = search_index::start(&db, &files).await.unwrap();
    assert_eq!(found(&db, &index, "beta").await, ["Beta two"]);
}

/// SQLite would give the newest ticket's `seq`, the index's key, to the next ticket once the
/// newest is deleted; the index could then, until it caught up, find the new ticket by the
/// deleted one's words.
#[tokio::test]
async fn a_deleted_tickets_position_is_not_given_again() {
    let Setup { _dir, db, files } = setup().await;
    let index = search_index::start(&db, &files).await.unwrap();
    let seq = |id: Uuid| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT seq FROM tickets WHERE id = $1")
                .bind(id.to_string())
                .fetch_one(&db.pool)
                .await
                .unwrap()
        }
    };
    create(&db, "Kept").await;
    let doomed = create(&db, "Doomed secret").await;
    let doomed_seq = seq(doomed).await;
    assert!(tickets::delete(&db, doomed).await.unwrap());
    let next = create(&db, "Next").await;
    assert!(seq(next).await > doomed_seq);
    assert!(found(&db, &index, "secret").await.is_empty());
    assert_eq!(found(&db, &index, "next").await, ["Next"]);
}

/// The documents of one round of the index's writer go in as one segment of the FTS5 index.
/// With one per document (`INSERT … SELECT`, see `repo::search`), FTS5 merges whole levels of
/// them far more often.
#[tokio::test]
async fn one_round_of_documents_makes_one_segment() {
    let Setup { _dir, db, files } = setup().await;
    stop(search_index::start(&db, &files).await.unwrap()).await;
    // FTS5 keys each page of its index by segment (the bits above the 37th) and page; ids
    // 1 to 65 535 are segments, higher ones their tombstones, 0 the index's own records.
    let segments = || async {
        let mut conn = index_file(&files).await;
        let ids = sqlx::query_scalar::<_, i64>(
            "SELECT DISTINCT id >> 37 FROM ticket_text_data WHERE id >> 37 BETWEEN 1 AND 65535",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        ids.into_iter().collect::<std::collections::BTreeSet<_>>()
    };
    for i in 0..10 {
        create(&db, &format!("Ticket {i}")).await;
    }
    let before = segments().await;
    // The ten queued documents, applied at the start in one round.
    let index = search_index::start(&db, &files).await.unwrap();
    let new: Vec<_> = segments().await.difference(&before).copied().collect();
    assert_eq!(new.len(), 1, "new segments {new:?}");
    assert_eq!(found(&db, &index, "ticket").await.len(), 10);
}

/// `docket-tickets migrate` (the binary) makes the schema once; with `MIGRATE_ON_START=false`
/// the service refuses the empty database, and after the migration starts (on SQLite building
/// its search index beside it) and answers `/metrics`.
#[tokio::test]
async fn migrate_then_a_service_that_may_not_migrate_starts_with_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tickets.db", dir.path().display());
    let settings = || {
        docket_tickets::Settings::from_source(&docket_platform::config::Source::from_pairs([
            ("DATABASE_URL", url.as_str()),
            ("PORT", "0"),
            ("MIGRATE_ON_START", "false"),
        ]))
        .unwrap()
    };
    let refused = docket_tickets::Application::build(settings())
        .await
        .err()
        .expect("an unmigrated database is refused");
    assert!(
        format!("{refused:#}").contains("schema is not current"),
        "{refused:#}"
    );
    let migrate = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_docket-tickets"))
            .arg("migrate")
            .env_clear()
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(migrate().contains("applied "));
    assert!(migrate().contains("nothing applied"));
    let app = docket_tickets::Application::build(settings())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    let metrics = docket_testkit::http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples = docket_platform::metrics::parse_text(&metrics).unwrap();
    assert!(
        samples
            .iter()
            .any(|(s, _)| s.starts_with("docket_db_connections_max{") && s.contains("tickets"))
    );
}

//! SQLite → Postgres: a data set seeded through the APIs on SQLite and local files, moved to
//! Postgres and S3, then read back through the services started on Postgres; a second run
//! changes nothing; an interrupted run, run again, ends exactly as an uninterrupted one.

use docket_admin::{
    db::DbUrl,
    migrate::{MigrateOptions, migrate},
};
use docket_testkit::Backend;
use serde_json::Value;
use sqlx::Connection as _;

use crate::helpers::{
    Place, Seeded, Stack, StorageKind, assert_same_rows, delete_objects, key_pem, objects,
    place_rows, row_count, seed, seeded_place,
};

fn options(from: &Place, to: &Place, to_storage: docket_admin::objects::Storage) -> MigrateOptions {
    MigrateOptions {
        sources: from
            .urls()
            .into_iter()
            .map(|u| match u {
                DbUrl::Sqlite(p) => p,
                DbUrl::Postgres(_) => unreachable!(),
            })
            .collect(),
        targets: to.dbs.iter().map(|d| d.url.clone()).collect(),
        upload_dir: from.upload_dir.clone(),
        to_storage: Some(to_storage),
        // Several batches per table even on a small data set.
        batch: 3,
    }
}

/// A SQLite and local-files place seeded through the APIs with `tickets` tickets.
async fn seeded_sqlite(tickets: usize) -> Place {
    seeded_place(Backend::Sqlite, StorageKind::Local, tickets)
        .await
        .0
}

/// A new Postgres and S3 place that `sqlite` was migrated to.
async fn migrated(sqlite: &Place) -> Place {
    let pg = Place::new(Backend::Postgres, StorageKind::S3).await;
    migrate(&options(sqlite, &pg, pg.tool_storage().await))
        .await
        .unwrap();
    pg
}

/// What every seeded user sees through the APIs: lists, tickets, comments, events,
/// attachments (and their bytes), searches, users.
async fn views(stack: &Stack, seeded: &Seeded) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let users = [
        ("alice", &seeded.requesters[0].token),
        ("bob", &seeded.requesters[1].token),
        ("agent", &seeded.agent.token),
        ("admin", &seeded.admin.token),
    ];
    for (who, token) in users {
        let mut paths = vec![
            format!("{}/api/auth/me", stack.auth),
            format!("{}/api/tickets?limit=100", stack.tickets),
            format!("{}/api/tickets?limit=3", stack.tickets),
            format!("{}/api/tickets?q=printer&limit=100", stack.tickets),
            format!("{}/api/tickets?q=publicword3", stack.tickets),
            format!("{}/api/tickets?q=secretword3", stack.tickets),
            format!("{}/api/tickets?q=number5%20everywhere", stack.tickets),
            format!("{}/api/tickets?status=in_progress&limit=100", stack.tickets),
        ];
        if who == "admin" {
            paths.push(format!("{}/api/users?limit=100", stack.auth));
        }
        for id in &seeded.tickets {
            paths.push(format!("{}/api/tickets/{id}", stack.tickets));
            paths.push(format!(
                "{}/api/tickets/{id}/comments?limit=100",
                stack.tickets
            ));
            paths.push(format!(
                "{}/api/tickets/{id}/events?limit=100",
                stack.tickets
            ));
            paths.push(format!(
                "{}/api/tickets/{id}/attachments?limit=100",
                stack.attachments
            ));
        }
        for path in paths {
            let resp = stack
                .http
                .get(&path)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            // Only the status of a refusal: its body carries a fresh request id.
            let body = if status == 200 { body } else { Value::Null };
            let path = path.split_once("/api/").unwrap().1.to_owned();
            out.push((format!("{who} {status} {path}"), body));
        }
    }
    for (id, _) in &seeded.attachments {
        let bytes = stack.download(id, &seeded.admin.token).await;
        out.push((
            format!("download {id}"),
            Value::String(docket_admin::checksum::sha256_hex(&bytes)),
        ));
    }
    out
}

fn items(views: &[(String, Value)], key: &str) -> usize {
    let (_, body) = views
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no view {key}"));
    body["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_migrated_data_set_answers_the_apis_on_postgres_as_it_did_on_sqlite() {
    let sqlite = Place::new(Backend::Sqlite, StorageKind::Local).await;
    let key = key_pem();
    let stack = Stack::start(&sqlite, &key).await;
    let seeded = seed(&stack, &sqlite, 8).await;
    let before = views(&stack, &seeded).await;
    stack.stop().await;
    let source_objects = objects(&sqlite).await;

    let pg = Place::new(Backend::Postgres, StorageKind::S3).await;
    let started = std::time::Instant::now();
    let report = migrate(&options(&sqlite, &pg, pg.tool_storage().await))
        .await
        .unwrap();
    eprintln!(
        "migration: {} rows in {} tables, {} objects, {:.2} s\n{report}",
        report.tables.iter().map(|t| t.rows).sum::<u64>(),
        report.tables.len(),
        report.objects_copied,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(report.objects_copied, seeded.attachments.len());
    // Keys unchanged, bytes unchanged.
    assert_eq!(objects(&pg).await, source_objects);
    let migrated = place_rows(&pg).await;
    for table in ["users", "refresh_tokens"] {
        assert!(!migrated[0][table].is_empty(), "{table}");
    }
    for table in ["tickets", "comments", "events"] {
        assert!(!migrated[1][table].is_empty(), "{table}");
    }

    let stack = Stack::start(&pg, &key).await;
    let after = views(&stack, &seeded).await;
    stack.stop().await;
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "the API answers differently after the migration");
    }
    // The checks that matter most, spelt out: search by text, internal notes hidden from
    // requesters (in comments and in search), events kept.
    assert_eq!(items(&after, "agent 200 tickets?q=printer&limit=100"), 8);
    assert_eq!(items(&after, "alice 200 tickets?q=printer&limit=100"), 4);
    assert_eq!(items(&after, "bob 200 tickets?q=publicword3"), 1);
    assert_eq!(items(&after, "bob 200 tickets?q=secretword3"), 0);
    assert_eq!(items(&after, "agent 200 tickets?q=secretword3"), 1);
    let t0 = &seeded.tickets[0];
    assert_eq!(
        items(
            &after,
            &format!("alice 200 tickets/{t0}/comments?limit=100")
        ),
        1
    );
    assert_eq!(
        items(
            &after,
            &format!("agent 200 tickets/{t0}/comments?limit=100")
        ),
        2
    );
    assert!(items(&after, &format!("agent 200 tickets/{t0}/events?limit=100")) >= 4);

    // Run again: nothing to write, nothing changes.
    let again = migrate(&options(&sqlite, &pg, pg.tool_storage().await))
        .await
        .unwrap();
    assert!(again.tables.iter().all(|t| t.written == 0), "{again}");
    assert_eq!(again.objects_copied, 0);
    assert_eq!(again.objects_already_there, seeded.attachments.len());
    assert_same_rows(&place_rows(&pg).await, &migrated, "after a second run");
}

#[tokio::test]
async fn an_interrupted_migration_run_again_ends_as_an_uninterrupted_one() {
    let sqlite = seeded_sqlite(5).await;
    let whole = migrated(&sqlite).await;
    let whole_rows = place_rows(&whole).await;

    // What an interrupted run leaves: each batch is one statement, so some tables complete,
    // one cut after a batch, later ones empty, search documents not yet built, some objects.
    let cut = migrated(&sqlite).await;
    let statements = [
        (
            0,
            "DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens ORDER BY id LIMIT 3)",
        ),
        (
            1,
            "DELETE FROM events WHERE id > (SELECT min(id) FROM events)",
        ),
        (
            1,
            "DELETE FROM comments WHERE id > (SELECT min(id) FROM comments WHERE internal = 1)",
        ),
        (1, "UPDATE tickets SET search = ''::tsvector"),
        (2, "DELETE FROM attachments"),
    ];
    for (db, sql) in statements {
        let mut conn = sqlx::PgConnection::connect(cut.url(db)).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    let storage = cut.tool_storage().await;
    let docket_admin::objects::Storage::S3 { client, bucket } = &storage else {
        unreachable!()
    };
    let every_other: Vec<String> = storage
        .list()
        .await
        .unwrap()
        .into_iter()
        .step_by(2)
        .collect();
    delete_objects(client, bucket, &every_other).await;
    assert_ne!(place_rows(&cut).await, whole_rows);

    let resumed = migrate(&options(&sqlite, &cut, cut.tool_storage().await))
        .await
        .unwrap();
    assert!(resumed.tables.iter().any(|t| t.written > 0), "{resumed}");
    assert!(resumed.objects_copied > 0);
    assert_same_rows(&place_rows(&cut).await, &whole_rows, "resumed run");
    assert_eq!(objects(&cut).await, objects(&whole).await);
    eprintln!(
        "interrupted and resumed: {} rows identical to the uninterrupted run",
        row_count(&whole_rows)
    );

    // A target with rows of its own is no copy in progress: refused before any write.
    let mut conn = sqlx::PgConnection::connect(cut.url(0)).await.unwrap();
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, role, active, created_at, updated_at) \
         VALUES ('00000000-0000-7000-8000-000000000000', 'x@example.com', 'X', 'h', 'requester', 1, 0, 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let err = migrate(&options(&sqlite, &cut, cut.tool_storage().await))
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("rows the SQLite source does not"),
        "{err:#}"
    );
}

/// The command line, killed (SIGKILL) in the middle of a table and run again: the result is
/// the uninterrupted run's, row for row and object for object.
#[tokio::test]
async fn the_command_killed_mid_copy_and_run_again_completes_without_duplicates() {
    let sqlite = seeded_sqlite(24).await;
    let whole = migrated(&sqlite).await;
    let whole_rows = place_rows(&whole).await;
    let events = whole_rows[1]["events"].len() as i64;

    let command = |to: &Place| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_docket-admin"));
        cmd.arg("migrate-sqlite-to-postgres")
            .args(["--batch", "1", "--to-bucket", &to.bucket])
            .arg("--upload-dir")
            .arg(&sqlite.upload_dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (i, service) in ["auth", "tickets", "attachments"].iter().enumerate() {
            let DbUrl::Sqlite(path) = &sqlite.urls()[i] else {
                unreachable!()
            };
            cmd.arg(format!("--{service}-from"))
                .arg(format!("sqlite://{}", path.display()));
            // Targets from the services' variables, as in production.
            cmd.env(
                format!("{}_DATABASE_URL", service.to_uppercase()),
                to.url(i),
            );
        }
        cmd
    };

    // Kill it once the events table has begun; try a fresh target again if a run was too
    // quick to be caught (it never has been, at one row per statement).
    let mut killed_at = None;
    let mut cut = None;
    for _ in 0..3 {
        let target = Place::new(Backend::Postgres, StorageKind::S3).await;
        let mut child = command(&target).spawn().unwrap();
        let mut conn = loop {
            if let Ok(conn) = sqlx::PgConnection::connect(target.url(1)).await {
                break conn;
            }
        };
        let count = loop {
            let n: Result<i64, _> = sqlx::query_scalar("SELECT count(*) FROM events")
                .fetch_one(&mut conn)
                .await;
            if let Ok(n) = n
                && n > 0
            {
                break n;
            }
            if child.try_wait().unwrap().is_some() {
                break 0;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        };
        child.start_kill().unwrap();
        let status = child.wait().await.unwrap();
        let after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if !status.success() && after < events {
            killed_at = Some((count, after));
            cut = Some(target);
            break;
        }
    }
    let (seen, after) = killed_at.expect("the run was never caught before it finished");
    let cut = cut.unwrap();
    assert!(seen > 0 && after < events, "{after} of {events} events");

    let out = command(&cut).output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same_rows(&place_rows(&cut).await, &whole_rows, "killed and run again");
    assert_eq!(objects(&cut).await, objects(&whole).await);
    eprintln!("killed after {after} of {events} events; the second run completed the copy");
}

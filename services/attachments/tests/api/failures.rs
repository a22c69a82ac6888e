//! Failures at every step leave nothing behind: storage down mid-upload, a database error
//! after the objects are written, a client gone mid-stream, a body over the limit; and the
//! sweep removes what a crash would leave.

use std::{io::Write as _, time::Duration};

use docket_attachments::{repo::attachments as repo, storage::new_key, sweep::sweep};
use docket_testkit::{Backend, OwnS3, assert_problem, backend_tests};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::{
    helpers::{
        BOUNDARY, StorageKind, content_type, file, part_head, pdf_of, png, raw_upload,
        s3_with_bucket, spawn, spawn_with,
    },
    matrix_tests,
};

backend_tests!(
    s3_stopped_mid_upload_is_503_and_leaves_no_row,
    a_file_over_the_limit_is_413_before_the_rest_of_the_body_is_sent,
);

matrix_tests!(
    a_database_error_after_the_objects_are_written_leaves_nothing,
    a_client_that_disconnects_mid_stream_leaves_nothing,
    the_sweep_removes_orphan_objects_stale_rows_and_spool_files,
);

async fn s3_stopped_mid_upload_is_503_and_leaves_no_row(b: Backend) {
    // An S3 of this test's own (moto, or a LocalStack container on the container path).
    let mut s3 = OwnS3::start().await;
    let (_s3, bucket) = s3_with_bucket(&s3.endpoint).await;
    let app = spawn_with(
        b,
        StorageKind::Local,
        &[
            ("STORAGE_TYPE", "s3"),
            ("S3_ATTACHMENTS_BUCKET", &bucket),
            ("AWS_ENDPOINT_URL", &s3.endpoint),
        ],
    )
    .await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // A 7 MiB file (a multipart upload on S3), streamed; S3 dies half way through it.
    let part = file("big.pdf", None, &[]);
    let body = pdf_of(7 * 1024 * 1024);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let request = app
        .http
        .post(app.url(&format!("/api/tickets/{ticket}/attachments")))
        .bearer_auth(&user.token)
        .header("content-type", content_type())
        .body(reqwest::Body::wrap_stream(tokio_stream(rx)))
        .send();
    let sender = async {
        tx.send(Ok(part_head(&part))).await.unwrap();
        let (first, rest) = body.split_at(3 * 1024 * 1024);
        tx.send(Ok(first.to_vec())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        s3.stop().await;
        tx.send(Ok(rest.to_vec())).await.unwrap();
        tx.send(Ok(format!("\r\n--{BOUNDARY}--\r\n").into_bytes()))
            .await
            .unwrap();
        drop(tx);
    };
    let (resp, ()) = tokio::join!(request, sender);
    assert_problem(resp.unwrap(), 503).await;
    assert_eq!(app.rows().await, 0);
    assert!(app.spool_drains().await);
    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 503);
}

/// A stream over a channel, for request bodies sent piece by piece.
fn tokio_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn a_file_over_the_limit_is_413_before_the_rest_of_the_body_is_sent(b: Backend) {
    let app = spawn_with(b, StorageKind::Local, &[("MAX_UPLOAD_BYTES", "100000")]).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    // Announce 400 000 bytes (under the whole-body limit of five files), send only the
    // file limit plus one byte, and wait for the answer.
    let (mut stream, head) = raw_upload(
        &app,
        &ticket,
        &user.token,
        &format!("Content-Length: {}", 400_000),
    )
    .await;
    let mut sent = head;
    sent.extend(part_head(&file("big.pdf", None, &[])));
    sent.extend(pdf_of(100_001));
    stream.write_all(&sent).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("the server answered before the body was complete")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(app.spool_drains().await);
    assert_eq!(app.rows().await, 0);
}

async fn a_database_error_after_the_objects_are_written_leaves_nothing(b: Backend, s: StorageKind) {
    let app = spawn(b, s).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    // The commit (pending → ready) fails, after every object has been written.
    let statements: &[&str] = match b {
        Backend::Sqlite => &[
            "CREATE TRIGGER fail_commit BEFORE UPDATE OF state ON attachments \
             WHEN NEW.state = 'ready' BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        ],
        Backend::Postgres => &[
            "CREATE FUNCTION fail_commit() RETURNS trigger AS $$ BEGIN \
             RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER fail_commit BEFORE UPDATE ON attachments FOR EACH ROW \
             WHEN (NEW.state = 'ready') EXECUTE FUNCTION fail_commit()",
        ],
    };
    for sql in statements {
        sqlx::raw_sql(sql).execute(&app.pool).await.unwrap();
    }
    let resp = app
        .upload(
            &user,
            &ticket,
            &[
                file("a.png", None, &png()),
                file("b.pdf", None, &pdf_of(6 * 1024 * 1024)),
            ],
        )
        .await;
    let body = assert_problem(resp, 500).await;
    assert!(
        !body["detail"].as_str().unwrap().contains("injected"),
        "{body}"
    );
    app.assert_nothing_kept().await;
}

async fn a_client_that_disconnects_mid_stream_leaves_nothing(b: Backend, s: StorageKind) {
    let app = spawn(b, s).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let (mut stream, head) = raw_upload(
        &app,
        &ticket,
        &user.token,
        &format!("Content-Length: {}", 5 * 1024 * 1024),
    )
    .await;
    let mut sent = head;
    // A complete first file, then half of a second one.
    sent.extend(part_head(&file("one.png", None, &[])));
    sent.extend(png());
    sent.extend(b"\r\n");
    sent.extend(part_head(&file("two.pdf", None, &[])));
    sent.extend(pdf_of(1024 * 1024));
    stream.write_all(&sent).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.spool_drains().await, "spool files left");
    app.assert_nothing_kept().await;
}

async fn the_sweep_removes_orphan_objects_stale_rows_and_spool_files(b: Backend, s: StorageKind) {
    let app = spawn(b, s).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let kept = app
        .upload_ok(&user, &ticket, file("keep.png", None, &png()))
        .await;

    // What a crash could leave: an object no row names, a pending row with its object, a
    // deleting row whose object is already gone, and a spool file.
    let spool = app.upload_dir.join("tmp").join("crashed.part");
    std::fs::File::create(&spool)
        .unwrap()
        .write_all(b"partial")
        .unwrap();
    let orphan = new_key(".png");
    let pending_key = new_key(".pdf");
    let staged = app.upload_dir.join("tmp").join("staged");
    for key in [&orphan, &pending_key] {
        std::fs::write(&staged, png()).unwrap();
        app.state
            .storage
            .put(key, &staged, png().len() as u64, "image/png")
            .await
            .unwrap();
    }
    let _ = std::fs::remove_file(&staged);
    for (key, state) in [(&pending_key, "pending"), (&new_key(".gif"), "deleting")] {
        sqlx::query(
            "INSERT INTO attachments (id, ticket_id, filename, content_type, size, uploaded_by, \
             storage_key, state, created_at, updated_at) VALUES ($1, $2, 'x', 'image/png', 1, $3, $4, $5, 0, 0)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&ticket)
        .bind(&user.id)
        .bind(key.as_str())
        .bind(state)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    assert_eq!(app.objects().await.len(), 3);
    tokio::time::sleep(Duration::from_millis(20)).await;

    let report = sweep(
        &app.state.db,
        &app.state.storage,
        &app.upload_dir.join("tmp"),
        Duration::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(report.stale_rows_removed, 2, "{report:?}");
    assert_eq!(report.orphan_objects_removed, 1, "{report:?}");
    assert_eq!(report.spool_files_removed, 1, "{report:?}");
    assert_eq!(report.failures, 0);
    assert_eq!(app.rows().await, 1);
    assert_eq!(app.objects().await.len(), 1);
    assert!(
        repo::find_ready(&app.pool, kept["id"].as_str().unwrap().parse().unwrap())
            .await
            .unwrap()
            .is_some()
    );
    let (bytes, _) = app.download(&user, kept["id"].as_str().unwrap()).await;
    assert!(!bytes.is_empty());
}

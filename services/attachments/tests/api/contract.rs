//! The contract as the OpenAPI document states it. The one request body here is the upload's
//! `multipart/form-data` with only `file` fields: a body of another kind or shape is refused
//! (never read some other way) and nothing is kept; a refusal given before the body is read
//! says `Connection: close`. Lists take the documented `limit` and `cursor` (a 404 for a ticket
//! the caller may not see comes first), `next_cursor` is an explicit null on the last page,
//! and 405s carry `Allow`.

use std::time::Duration;

use docket_testkit::{
    Backend, assert_405_with_allow, assert_problem, backend_tests, problem_fields,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::{
    BOUNDARY, Part, StorageKind, content_type, file, multipart, png, raw_upload, spawn,
};

backend_tests!(
    upload_bodies_of_another_kind_or_shape_are_refused_and_nothing_is_kept,
    an_upload_refused_before_its_body_is_read_closes_the_connection,
    lists_check_limit_and_cursor_after_visibility_and_end_with_a_null_cursor,
    a_405_lists_the_routes_methods_in_allow,
);

async fn upload_bodies_of_another_kind_or_shape_are_refused_and_nothing_is_kept(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let url = app.url(&format!("/api/tickets/{ticket}/attachments"));
    let send = |content_type: String, body: Vec<u8>| {
        app.http
            .post(&url)
            .bearer_auth(&user.token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    // Another kind of body: JSON (the file as a string), a URL-encoded form, no type at all.
    let json = send(
        "application/json".into(),
        br#"{"file": "iVBORw0KGgo="}"#.to_vec(),
    );
    assert_problem(json.await.unwrap(), 415).await;
    let form = send(
        "application/x-www-form-urlencoded".into(),
        b"file=shot.png".to_vec(),
    );
    assert_problem(form.await.unwrap(), 415).await;
    let untyped = app
        .http
        .post(&url)
        .bearer_auth(&user.token)
        .body(png())
        .send()
        .await
        .unwrap();
    assert_problem(untyped, 415).await;
    // multipart/form-data without its boundary cannot be read at all.
    let unbounded = send(
        "multipart/form-data".into(),
        multipart(&[file("a.png", None, &png())]),
    );
    assert_problem(unbounded.await.unwrap(), 400).await;

    // The right kind, the wrong shape: a field other than `file` (beside a good file, too),
    // no field at all, and `file` as a plain text value rather than a file.
    let note = Part {
        field: "note".into(),
        ..file("note.png", Some("image/png"), &png())
    };
    let good = file("shot.png", Some("image/png"), &png());
    for parts in [
        vec![note],
        vec![
            good,
            Part {
                field: "x".into(),
                ..file("b.png", None, &png())
            },
        ],
    ] {
        let problem = assert_problem(app.upload(&user, &ticket, &parts).await, 422).await;
        assert!(
            problem["detail"].as_str().unwrap().contains("`file`"),
            "{problem}"
        );
    }
    let empty = send(content_type(), format!("--{BOUNDARY}--\r\n").into_bytes());
    assert_problem(empty.await.unwrap(), 422).await;
    let text_value = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nhello\r\n--{BOUNDARY}--\r\n"
    );
    let text = send(content_type(), text_value.into_bytes());
    assert_problem(text.await.unwrap(), 415).await;
    app.assert_nothing_kept().await;
}

async fn an_upload_refused_before_its_body_is_read_closes_the_connection(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let owner = app.requester().await;
    let stranger = app.requester().await;
    let ticket = app.ticket(&owner).await;
    // Over a raw socket, announcing far more than is sent: the answer must not wait for the
    // rest, and must say the connection ends with it.
    let (mut stream, head) = raw_upload(
        &app,
        &ticket,
        &stranger.token,
        &format!("Content-Length: {}", 4 * 1024 * 1024),
    )
    .await;
    stream.write_all(&head).await.unwrap();
    stream
        .write_all(&multipart(&[file("shot.png", Some("image/png"), &png())]))
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the refusal came, and the connection closed, without the rest of the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 404"), "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
    // An answer after the whole body was read keeps the connection.
    let stored = app
        .upload(
            &owner,
            &ticket,
            &[file("shot.png", Some("image/png"), &png())],
        )
        .await;
    assert_eq!(stored.status(), 201);
    assert_eq!(stored.headers().get("connection"), None);
}

async fn lists_check_limit_and_cursor_after_visibility_and_end_with_a_null_cursor(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let owner = app.requester().await;
    let stranger = app.requester().await;
    let ticket = app.ticket(&owner).await;
    let list = format!("/api/tickets/{ticket}/attachments");
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-9223372036854775808", "limit"),
        ("limit=abc", "limit"),
        ("cursor=zzz", "cursor"),
    ] {
        let path = format!("{list}?{query}");
        let problem = assert_problem(app.get(&path, &owner).await, 422).await;
        assert_eq!(problem_fields(&problem), [field], "{query}: {problem}");
        assert_problem(app.get(&path, &stranger).await, 404).await;
    }
    app.upload_ok(&owner, &ticket, file("shot.png", Some("image/png"), &png()))
        .await;
    let page: Value = app
        .get(&format!("{list}?limit=1"), &owner)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_null());
    assert!(page.as_object().unwrap().contains_key("next_cursor"));
}

async fn a_405_lists_the_routes_methods_in_allow(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let user = app.requester().await;
    let id = "0190a0b4-7c44-7d2a-9e55-3d1f2c3b4a59";
    let cases = [
        (format!("/api/tickets/{id}/attachments"), "GET, POST, HEAD"),
        (format!("/api/attachments/{id}"), "DELETE"),
        (format!("/api/attachments/{id}/download"), "GET, HEAD"),
        ("/api/attachments/policy".to_owned(), "GET, HEAD"),
        ("/health/live".to_owned(), "GET, HEAD"),
    ];
    for (path, allow) in cases {
        assert_405_with_allow(app.http.put(app.url(&path)).bearer_auth(&user.token), allow).await;
    }
}

//! The upload policy (`GET /api/attachments/policy`) says what uploads enforce: its size is
//! the one a file crosses into 413, its count the one past which a request is 422, each type
//! it lists is accepted under each of its extensions, and anything else is 415.

use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::Value;

use crate::helpers::{
    CONTENT_TYPES, StorageKind, TestApp, User, file, ole_of, pdf, pdf_of, png, spawn, spawn_with,
    zip_of,
};

backend_tests!(
    the_policy_is_what_uploads_enforce,
    the_policy_follows_max_upload_bytes_and_names_the_contracts_types,
    the_policy_needs_a_signed_in_caller,
);

async fn policy_of(app: &TestApp, user: &User) -> Value {
    let resp = app.get("/api/attachments/policy", user).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// A file whose bytes are of `media_type`; a type the policy lists and this does not know is
/// a failure, so a type added to the service is added here too.
fn sample(media_type: &str) -> Vec<u8> {
    match media_type {
        "image/jpeg" => b"\xff\xd8\xff\xe0\0\x10JFIF\0 a small picture".to_vec(),
        "image/png" => png(),
        "image/gif" => b"GIF89a\x01\0\x01\0\0\0\0;".to_vec(),
        "application/pdf" => pdf(),
        "application/msword" => ole_of(&["/WordDocument"], b"text"),
        "application/vnd.ms-excel" => ole_of(&["/Workbook"], b"cells"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            zip_of(&[CONTENT_TYPES, ("word/document.xml", b"<w:document/>")])
        }
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
            zip_of(&[CONTENT_TYPES, ("xl/workbook.xml", b"<workbook/>")])
        }
        other => panic!("the policy lists {other}, which this test has no sample of"),
    }
}

async fn the_policy_is_what_uploads_enforce(b: Backend) {
    let app = spawn_with(b, StorageKind::Local, &[("MAX_UPLOAD_BYTES", "65536")]).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let policy = policy_of(&app, &user).await;

    // The size: a file of exactly the reported limit is stored, one byte more is 413.
    let max = usize::try_from(policy["max_file_bytes"].as_u64().unwrap()).unwrap();
    app.upload_ok(&user, &ticket, file("exact.pdf", None, &pdf_of(max)))
        .await;
    let resp = app
        .upload(&user, &ticket, &[file("over.pdf", None, &pdf_of(max + 1))])
        .await;
    assert_problem(resp, 413).await;

    // The count: the reported number of files in one request is stored, one more is 422.
    let files = usize::try_from(policy["max_files"].as_u64().unwrap()).unwrap();
    let parts: Vec<_> = (0..=files)
        .map(|i| file(&format!("{i}.png"), None, &png()))
        .collect();
    assert_problem(app.upload(&user, &ticket, &parts).await, 422).await;
    let resp = app.upload(&user, &ticket, &parts[..files]).await;
    assert_eq!(resp.status(), 201);

    // The types: each listed one, under each of its extensions and declared as its media
    // type, is stored as that type.
    let types = policy["types"].as_array().unwrap();
    for t in types {
        let media_type = t["media_type"].as_str().unwrap();
        for ext in t["extensions"].as_array().unwrap() {
            let name = format!("sample.{}", ext.as_str().unwrap());
            let stored = app
                .upload_ok(
                    &user,
                    &ticket,
                    file(&name, Some(media_type), &sample(media_type)),
                )
                .await;
            assert_eq!(stored["content_type"], media_type, "{name}");
        }
    }

    // Anything else is 415, and the refusal names the types the policy lists.
    let body = assert_problem(
        app.upload(&user, &ticket, &[file("notes.txt", None, b"just text")])
            .await,
        415,
    )
    .await;
    let detail = body["detail"].as_str().unwrap();
    for t in types {
        assert!(detail.contains(t["name"].as_str().unwrap()), "{detail}");
    }
    // A listed type's bytes under an extension the policy does not give it.
    let resp = app
        .upload(&user, &ticket, &[file("shot.bmp", None, &png())])
        .await;
    assert_problem(resp, 415).await;
}

async fn the_policy_follows_max_upload_bytes_and_names_the_contracts_types(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let user = app.requester().await;
    let policy = policy_of(&app, &user).await;
    assert_eq!(policy["max_file_bytes"], 10 * 1024 * 1024);
    assert_eq!(policy["max_files"], 5);
    let names: Vec<&str> = policy["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["JPEG", "PNG", "GIF", "PDF", "DOC", "DOCX", "XLS", "XLSX"]
    );
    let png = &policy["types"][1];
    assert_eq!(png["media_type"], "image/png");
    assert_eq!(png["extensions"], serde_json::json!(["png"]));

    let small = spawn_with(b, StorageKind::Local, &[("MAX_UPLOAD_BYTES", "1234")]).await;
    let user = small.requester().await;
    assert_eq!(policy_of(&small, &user).await["max_file_bytes"], 1234);
}

async fn the_policy_needs_a_signed_in_caller(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let resp = app
        .http
        .get(app.url("/api/attachments/policy"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401).await;
    let resp = app
        .http
        .get(app.url("/api/attachments/policy"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401).await;
}

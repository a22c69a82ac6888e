//! Uploads and downloads: types, sizes, names, all-or-nothing.

use docket_testkit::{assert_problem, backend_tests};
use serde_json::Value;

use crate::{
    helpers::{
        CONTENT_TYPES, StorageKind, file, ole_of, pdf, pdf_of, png, spawn, spawn_with, zip_of,
    },
    matrix_tests,
};
use docket_testkit::Backend;

backend_tests!(
    office_files_are_accepted_by_their_structure,
    a_zip_or_ole_file_that_only_looks_like_office_and_a_name_without_extension_are_415,
);

matrix_tests!(
    a_png_and_a_pdf_are_accepted_and_downloaded_byte_identical,
    an_elf_declared_png_an_exe_renamed_pdf_and_html_are_415,
    a_file_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413,
    ten_mebibytes_exactly_are_accepted_at_the_default_limit,
    a_path_in_the_filename_is_stored_safely,
    a_unicode_filename_round_trips,
    five_files_with_the_fourth_invalid_keep_nothing,
    six_files_are_422_and_nothing_is_stored,
);

async fn a_png_and_a_pdf_are_accepted_and_downloaded_byte_identical(b: Backend, s: StorageKind) {
    let app = spawn(b, s).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let (png, pdf) = (png(), pdf());
    let resp = app
        .upload(
            &user,
            &ticket,
            &[
                file("shot.png", Some("image/png"), &png),
                file("report.pdf", Some("application/pdf"), &pdf),
            ],
        )
        .await;
    assert_eq!(resp.status(), 201);
    let stored: Value = resp.json().await.unwrap();
    assert_eq!(stored[0]["content_type"], "image/png");
    assert_eq!(stored[0]["size"], png.len());
    assert_eq!(stored[0]["ticket_id"], ticket.as_str());
    assert_eq!(stored[0]["uploaded_by"], user.id.as_str());
    assert_eq!(stored[1]["content_type"], "application/pdf");
    for (item, bytes, name) in [
        (&stored[0], &png, "shot.png"),
        (&stored[1], &pdf, "report.pdf"),
    ] {
        let (got, disposition) = app.download(&user, item["id"].as_str().unwrap()).await;
        assert_eq!(&got, bytes);
        assert_eq!(
            disposition,
            format!("attachment; filename=\"{name}\"; filename*=UTF-8''{name}")
        );
    }
    let list: Value = app
        .get(&format!("/api/tickets/{ticket}/attachments"), &user)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(list["next_cursor"].is_null());
    // Stored keys are the server's own, and objects carry SSE on S3.
    let objects = app.objects().await;
    assert_eq!(objects.len(), 2);
    for key in &objects {
        assert!(
            key.starts_with("attachments/") && (key.ends_with(".png") || key.ends_with(".pdf")),
            "{key}"
        );
    }
    if let Some(s3) = &app.s3 {
        let head = s3
            .client()
            .head_object()
            .bucket(s3.bucket())
            .key(&objects[0])
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption().map(|e| e.as_str()),
            Some("AES256")
        );
    }
    let kinds = app.event_kinds(&user, &ticket).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "attachment_added").count(),
        2,
        "{kinds:?}"
    );
}

async fn an_elf_declared_png_an_exe_renamed_pdf_and_html_are_415(b: Backend, s: StorageKind) {
    let app = spawn(b, s).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    elf.extend([0u8; 2000]);
    let mut exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec();
    exe.extend([0u8; 2000]);
    let html = b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec();
    for part in [
        file("cat.png", Some("image/png"), &elf),
        file("invoice.pdf", Some("application/pdf"), &exe),
        file("invoice.pdf", None, &exe),
        file("page.html", Some("text/html"), &html),
        // A real PNG declared as something else is refused too.
        file("shot.pdf", Some("application/pdf"), &png()),
    ] {
        let resp = app.upload(&user, &ticket, &[part]).await;
        assert_problem(resp, 415).await;
    }
    app.assert_nothing_kept().await;
}

async fn a_file_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413(
    b: Backend,
    s: StorageKind,
) {
    let app = spawn_with(b, s, &[("MAX_UPLOAD_BYTES", "100000")]).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let exact = pdf_of(100_000);
    let stored = app
        .upload_ok(&user, &ticket, file("exact.pdf", None, &exact))
        .await;
    assert_eq!(stored["size"], 100_000);
    let (got, _) = app.download(&user, stored["id"].as_str().unwrap()).await;
    assert_eq!(got, exact);
    let resp = app
        .upload(&user, &ticket, &[file("over.pdf", None, &pdf_of(100_001))])
        .await;
    assert_problem(resp, 413).await;
    assert_eq!(app.rows().await, 1);
    assert_eq!(app.objects().await.len(), 1);
    assert_eq!(app.spool_files(), 0);
}

async fn ten_mebibytes_exactly_are_accepted_at_the_default_limit(b: Backend, s: StorageKind) {
    // On S3 this is a multipart upload (two 5 MiB parts).
    let app = spawn(b, s).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let mut big = pdf_of(10 * 1024 * 1024);
    for (i, byte) in big.iter_mut().enumerate().skip(16) {
        *byte = (i % 251) as u8;
    }
    let stored = app
        .upload_ok(&user, &ticket, file("big.pdf", None, &big))
        .await;
    assert_eq!(stored["size"], 10 * 1024 * 1024);
    let (got, _) = app.download(&user, stored["id"].as_str().unwrap()).await;
    assert!(got == big, "downloaded bytes differ");
    let mut over = big;
    over.push(b'x');
    let resp = app
        .upload(&user, &ticket, &[file("big.pdf", None, &over)])
        .await;
    assert_problem(resp, 413).await;
    assert_eq!(app.rows().await, 1);
}

async fn a_path_in_the_filename_is_stored_safely(b: Backend, s: StorageKind) {
    let app = spawn(b, s).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let stored = app
        .upload_ok(
            &user,
            &ticket,
            file("../../etc/passwd.png", Some("image/png"), &png()),
        )
        .await;
    assert_eq!(stored["filename"], "passwd.png");
    let objects = app.objects().await;
    assert_eq!(objects.len(), 1);
    assert!(
        !objects[0].contains("passwd") && !objects[0].contains(".."),
        "{objects:?}"
    );
    // Nothing escaped the upload folder.
    assert!(!app.upload_dir.join("../../etc/passwd.png").exists());
    assert!(!app.upload_dir.parent().unwrap().join("etc").exists());
    let (_, disposition) = app.download(&user, stored["id"].as_str().unwrap()).await;
    assert_eq!(
        disposition,
        "attachment; filename=\"passwd.png\"; filename*=UTF-8''passwd.png"
    );
}

async fn a_unicode_filename_round_trips(b: Backend, s: StorageKind) {
    let app = spawn(b, s).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let name = "Résumé — 履歴書 ✓.pdf";
    let stored = app
        .upload_ok(&user, &ticket, file(name, None, &pdf()))
        .await;
    assert_eq!(stored["filename"], name);
    let list: Value = app
        .get(&format!("/api/tickets/{ticket}/attachments"), &user)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["filename"], name);
    let (_, disposition) = app.download(&user, stored["id"].as_str().unwrap()).await;
    let encoded = disposition.split("filename*=UTF-8''").nth(1).unwrap();
    let decoded = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .unwrap();
    assert_eq!(decoded, name);
    assert!(
        disposition.starts_with("attachment; filename=\"R_sum_ _ ___ _.pdf\""),
        "{disposition}"
    );
}

async fn five_files_with_the_fourth_invalid_keep_nothing(b: Backend, s: StorageKind) {
    let app = spawn(b, s).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let html = b"<html>nope</html>".to_vec();
    let resp = app
        .upload(
            &user,
            &ticket,
            &[
                file("1.png", None, &png()),
                file("2.pdf", None, &pdf()),
                file("3.png", None, &png()),
                file("4.png", Some("image/png"), &html),
                file("5.pdf", None, &pdf()),
            ],
        )
        .await;
    assert_problem(resp, 415).await;
    app.assert_nothing_kept().await;
    let kinds = app.event_kinds(&user, &ticket).await;
    assert!(!kinds.iter().any(|k| k == "attachment_added"), "{kinds:?}");
}

async fn six_files_are_422_and_nothing_is_stored(b: Backend, s: StorageKind) {
    let app = spawn(b, s).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let parts: Vec<_> = (0..6)
        .map(|i| file(&format!("{i}.png"), None, &png()))
        .collect();
    let resp = app.upload(&user, &ticket, &parts).await;
    assert_problem(resp, 422).await;
    app.assert_nothing_kept().await;
    // Five is fine.
    let resp = app.upload(&user, &ticket, &parts[..5]).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(app.rows().await, 5);
}

fn docx() -> Vec<u8> {
    zip_of(&[CONTENT_TYPES, ("word/document.xml", b"<w:document/>")])
}

async fn office_files_are_accepted_by_their_structure(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let xlsx = zip_of(&[CONTENT_TYPES, ("xl/workbook.xml", b"<workbook/>")]);
    let doc = ole_of(&["/WordDocument"], b"text");
    let xls = ole_of(&["/Workbook"], b"cells");
    let xls95 = ole_of(&["/Book"], b"cells");
    for (name, bytes, mime) in [
        (
            "report.docx",
            docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "sheet.xlsx",
            xlsx,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("letter.doc", doc, "application/msword"),
        ("sheet.xls", xls, "application/vnd.ms-excel"),
        ("old.XLS", xls95, "application/vnd.ms-excel"),
    ] {
        let stored = app
            .upload_ok(&user, &ticket, file(name, None, &bytes))
            .await;
        assert_eq!(stored["content_type"], mime, "{name}");
        let (got, _) = app.download(&user, stored["id"].as_str().unwrap()).await;
        assert_eq!(got, bytes, "{name}");
    }
    assert_eq!(app.rows().await, 5);
}

async fn a_zip_or_ole_file_that_only_looks_like_office_and_a_name_without_extension_are_415(
    b: Backend,
) {
    let app = spawn(b, StorageKind::Local).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let mut mz = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec();
    mz.extend([0u8; 2000]);
    let payload = zip_of(&[
        ("word/payload.exe", &mz),
        ("run.sh", b"#!/bin/sh\nrm -rf ~\n"),
    ]);
    let sheet_named_word = zip_of(&[("xl/payload.exe", &mz)]);
    let utf16_name: Vec<u8> = "WordDocument"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let msi = ole_of(&["/Payload"], &utf16_name);
    for (name, bytes) in [
        ("report.docx", payload),
        ("report.xlsx", sheet_named_word),
        ("letter.doc", msi),
        // A real DOCX under another type's extension, and under none.
        ("report.xlsx", docx()),
        ("report", docx()),
        ("shot", png()),
    ] {
        let resp = app
            .upload(&user, &ticket, &[file(name, None, &bytes)])
            .await;
        let body = assert_problem(resp, 415).await;
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("nothing was stored"),
            "{name}: {body}"
        );
    }
    app.assert_nothing_kept().await;
}

//! Attachments and their ticket: one canonical ticket id however the client spells it, and a
//! ticket's deletion taking every attachment with it, uploads in flight included.

use std::time::Duration;

use docket_attachments::repo::attachments::{self as repo, AttachmentRow, Commit};
use docket_platform::auth::Role;
use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::Value;

use crate::helpers::{
    BOUNDARY, StorageKind, TestApp, content_type, file, part_head, pdf_of, png, spawn,
};

backend_tests!(
    uploads_to_a_ticket_id_in_upper_case_or_without_hyphens_are_stored_canonically_and_go_with_the_ticket,
    an_upload_still_streaming_when_its_ticket_is_deleted_is_404_and_leaves_nothing,
    pending_uploads_of_a_deleted_ticket_never_commit,
    the_migration_canonicalises_ticket_ids_stored_under_other_spellings,
);

async fn delete_ticket(app: &TestApp, ticket: &str) {
    let admin = app.user_with_role(Role::Admin).await;
    let resp = app
        .http
        .delete(format!("{}/api/tickets/{ticket}", app.tickets_base))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());
}

async fn uploads_to_a_ticket_id_in_upper_case_or_without_hyphens_are_stored_canonically_and_go_with_the_ticket(
    b: Backend,
) {
    let app = spawn(b, StorageKind::Local).await;
    let owner = app.requester().await;
    let ticket = app.ticket(&owner).await;
    let spellings = [
        ticket.clone(),
        ticket.to_uppercase(),
        ticket.replace('-', ""),
    ];
    for (i, spelling) in spellings.iter().enumerate() {
        let stored = app
            .upload_ok(&owner, spelling, file(&format!("{i}.png"), None, &png()))
            .await;
        assert_eq!(stored["ticket_id"], ticket.as_str(), "{spelling}");
    }
    for row in repo::all_for_ticket(&app.pool, &ticket).await.unwrap() {
        assert_eq!(row.ticket_id, ticket);
    }
    assert_eq!(app.rows().await, 3);
    // Every spelling lists the same three.
    for spelling in &spellings {
        let list: Value = app
            .get(&format!("/api/tickets/{spelling}/attachments"), &owner)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 3, "{spelling}");
    }
    // And the admin's delete takes all three, bytes and rows.
    delete_ticket(&app, &ticket).await;
    assert_eq!(app.rows().await, 0);
    assert!(app.objects().await.is_empty());
}

/// A stream over a channel, for request bodies sent piece by piece.
fn channel_body(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> reqwest::Body {
    reqwest::Body::wrap_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

async fn an_upload_still_streaming_when_its_ticket_is_deleted_is_404_and_leaves_nothing(
    b: Backend,
) {
    let app = spawn(b, StorageKind::Local).await;
    let owner = app.requester().await;
    let ticket = app.ticket(&owner).await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let request = app
        .http
        .post(app.url(&format!("/api/tickets/{ticket}/attachments")))
        .bearer_auth(&owner.token)
        .header("content-type", content_type())
        .body(channel_body(rx))
        .send();
    let body = pdf_of(2 * 1024 * 1024);
    let sender = async {
        tx.send(Ok(part_head(&file("late.pdf", None, &[]))))
            .await
            .unwrap();
        let (first, rest) = body.split_at(1024 * 1024);
        tx.send(Ok(first.to_vec())).await.unwrap();
        // The access check has passed and the file is spooling: now the ticket goes.
        tokio::time::sleep(Duration::from_millis(300)).await;
        delete_ticket(&app, &ticket).await;
        tx.send(Ok(rest.to_vec())).await.unwrap();
        tx.send(Ok(format!("\r\n--{BOUNDARY}--\r\n").into_bytes()))
            .await
            .unwrap();
        drop(tx);
    };
    let (resp, ()) = tokio::join!(request, sender);
    assert_problem(resp.unwrap(), 404).await;
    assert!(app.spool_drains().await);
    app.assert_nothing_kept().await;
}

fn pending_row(ticket: &str, uploader: &str) -> AttachmentRow {
    AttachmentRow {
        id: uuid::Uuid::now_v7(),
        ticket_id: ticket.to_owned(),
        filename: "a.png".into(),
        content_type: "image/png".into(),
        size: 1,
        uploaded_by: uploader.to_owned(),
        storage_key: docket_attachments::storage::new_key(".png"),
        state: "pending".into(),
        created_at: docket_platform::db::now_ms(),
        updated_at: docket_platform::db::now_ms(),
    }
}

async fn pending_uploads_of_a_deleted_ticket_never_commit(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let owner = app.requester().await;
    let admin = app.user_with_role(Role::Admin).await;

    // Claimed (pending) when the ticket's deletion runs: the delete takes the rows, and the
    // upload's commit finds nothing to turn ready.
    let ticket = app.ticket(&owner).await;
    let rows = [
        pending_row(&ticket, &owner.id),
        pending_row(&ticket, &owner.id),
    ];
    assert!(repo::insert_pending(&app.pool, &rows).await.unwrap());
    let resp = app
        .delete(&format!("/internal/tickets/{ticket}/attachments"), &admin)
        .await;
    assert_eq!(resp.status(), 204);
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    assert_eq!(
        repo::mark_ready(&app.pool, &ticket, &ids).await.unwrap(),
        Commit::TicketDeleted
    );
    assert_eq!(app.rows().await, 0);
    // Nothing more can be claimed for it.
    assert!(
        !repo::insert_pending(&app.pool, &[pending_row(&ticket, &owner.id)])
            .await
            .unwrap()
    );

    // Claimed, and the deletion's tombstone lands before the commit but its sweep of the rows
    // has not (Postgres, two transactions racing): the commit still refuses, and the rows stay
    // pending for the sweep.
    let other = app.ticket(&owner).await;
    let row = pending_row(&other, &owner.id);
    assert!(
        repo::insert_pending(&app.pool, std::slice::from_ref(&row))
            .await
            .unwrap()
    );
    repo::record_ticket_deleted(&app.pool, &other)
        .await
        .unwrap();
    assert_eq!(
        repo::mark_ready(&app.pool, &other, &[row.id])
            .await
            .unwrap(),
        Commit::TicketDeleted
    );
    let left = repo::all_for_ticket(&app.pool, &other).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].state, "pending");
}

async fn the_migration_canonicalises_ticket_ids_stored_under_other_spellings(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let canonical = uuid::Uuid::new_v4().to_string();
    for spelling in [
        canonical.to_uppercase(),
        canonical.replace('-', ""),
        canonical.replace('-', "").to_uppercase(),
    ] {
        let row = pending_row(&spelling, "someone");
        assert!(repo::insert_pending(&app.pool, &[row]).await.unwrap());
    }
    // The migration ran at start on an empty table; run its statements again over old rows.
    let sql = match b {
        Backend::Sqlite => include_str!("../../migrations/sqlite/0002_canonical_ticket_ids.sql"),
        Backend::Postgres => {
            include_str!("../../migrations/postgres/0002_canonical_ticket_ids.sql")
        }
    };
    sqlx::raw_sql(sql).execute(&app.pool).await.unwrap();
    let rows = repo::all_for_ticket(&app.pool, &canonical).await.unwrap();
    assert_eq!(rows.len(), 3);
}

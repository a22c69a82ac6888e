//! Who may do what: everything is decided by the tickets service's answer.

use docket_platform::auth::Role;
use docket_testkit::{Backend, assert_problem, backend_tests};

use crate::{
    helpers::{StorageKind, file, png, spawn},
    matrix_tests,
};

backend_tests!(
    someone_who_cannot_read_the_ticket_gets_404_for_everything,
    the_uploader_and_agents_may_delete_but_another_reader_gets_403,
    requests_without_a_valid_token_are_401,
    lists_are_paginated_with_a_cursor,
);

matrix_tests!(deleting_a_ticket_deletes_every_attachment_bytes_and_rows);

async fn someone_who_cannot_read_the_ticket_gets_404_for_everything(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let owner = app.requester().await;
    let stranger = app.requester().await;
    let ticket = app.ticket(&owner).await;
    let stored = app
        .upload_ok(&owner, &ticket, file("a.png", None, &png()))
        .await;
    let id = stored["id"].as_str().unwrap();

    assert_problem(
        app.get(&format!("/api/tickets/{ticket}/attachments"), &stranger)
            .await,
        404,
    )
    .await;
    assert_problem(
        app.upload(&stranger, &ticket, &[file("b.png", None, &png())])
            .await,
        404,
    )
    .await;
    assert_problem(
        app.get(&format!("/api/attachments/{id}/download"), &stranger)
            .await,
        404,
    )
    .await;
    assert_problem(
        app.delete(&format!("/api/attachments/{id}"), &stranger)
            .await,
        404,
    )
    .await;
    // Unknown tickets and attachments look the same.
    let unknown = uuid::Uuid::new_v4();
    assert_problem(
        app.get(&format!("/api/tickets/{unknown}/attachments"), &owner)
            .await,
        404,
    )
    .await;
    assert_problem(
        app.get(&format!("/api/attachments/{unknown}/download"), &owner)
            .await,
        404,
    )
    .await;
    // Not an id at all: refused at the edge, before anything is looked up, with the same
    // answer as an id that names nothing.
    assert_problem(
        app.get("/api/tickets/..%2F..%2Fx/attachments", &owner)
            .await,
        404,
    )
    .await;
    assert_problem(
        app.get("/api/attachments/not-an-id/download", &owner).await,
        404,
    )
    .await;
    assert_eq!(app.rows().await, 1);
    assert_eq!(app.objects().await.len(), 1);
}

async fn the_uploader_and_agents_may_delete_but_another_reader_gets_403(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let owner = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    let other = app.requester().await;
    let ticket = app.ticket(&owner).await;

    // The requester can read the ticket but did not upload the agent's file: 403.
    let by_agent = app
        .upload_ok(&agent, &ticket, file("agent.png", None, &png()))
        .await;
    let path = format!("/api/attachments/{}", by_agent["id"].as_str().unwrap());
    assert_problem(app.delete(&path, &owner).await, 403).await;
    // Another requester cannot see it at all: 404.
    assert_problem(app.delete(&path, &other).await, 404).await;
    // The uploader may.
    assert_eq!(app.delete(&path, &agent).await.status(), 204);
    assert_problem(app.delete(&path, &agent).await, 404).await;

    // The requester's own upload: they may delete it, and so may an agent.
    let mine = app
        .upload_ok(&owner, &ticket, file("mine.png", None, &png()))
        .await;
    let theirs = app
        .upload_ok(&owner, &ticket, file("theirs.png", None, &png()))
        .await;
    let mine_path = format!("/api/attachments/{}", mine["id"].as_str().unwrap());
    assert_eq!(app.delete(&mine_path, &owner).await.status(), 204);
    let theirs_path = format!("/api/attachments/{}", theirs["id"].as_str().unwrap());
    assert_eq!(app.delete(&theirs_path, &agent).await.status(), 204);
    assert_problem(app.get(&format!("{mine_path}/download"), &owner).await, 404).await;

    assert_eq!(app.rows().await, 0);
    assert!(app.objects().await.is_empty());
    let kinds = app.event_kinds(&owner, &ticket).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "attachment_removed").count(),
        3,
        "{kinds:?}"
    );
}

async fn requests_without_a_valid_token_are_401(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let owner = app.requester().await;
    let ticket = app.ticket(&owner).await;
    let resp = app
        .http
        .get(app.url(&format!("/api/tickets/{ticket}/attachments")))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401).await;
    let resp = app
        .http
        .post(app.url(&format!("/api/tickets/{ticket}/attachments")))
        .bearer_auth("not-a-token")
        .header("content-type", crate::helpers::content_type())
        .body(crate::helpers::multipart(&[file("a.png", None, &png())]))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401).await;
    assert_eq!(app.rows().await, 0);
}

async fn lists_are_paginated_with_a_cursor(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let owner = app.requester().await;
    let ticket = app.ticket(&owner).await;
    let parts: Vec<_> = (0..3)
        .map(|i| file(&format!("{i}.png"), None, &png()))
        .collect();
    assert_eq!(app.upload(&owner, &ticket, &parts).await.status(), 201);
    let page: serde_json::Value = app
        .get(
            &format!("/api/tickets/{ticket}/attachments?limit=2"),
            &owner,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next: serde_json::Value = app
        .get(
            &format!("/api/tickets/{ticket}/attachments?limit=2&cursor={cursor}"),
            &owner,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert!(next["next_cursor"].is_null());
    assert_problem(
        app.get(
            &format!("/api/tickets/{ticket}/attachments?limit=0"),
            &owner,
        )
        .await,
        422,
    )
    .await;
    assert_problem(
        app.get(
            &format!("/api/tickets/{ticket}/attachments?cursor=!!"),
            &owner,
        )
        .await,
        422,
    )
    .await;
}

async fn deleting_a_ticket_deletes_every_attachment_bytes_and_rows(b: Backend, s: StorageKind) {
    let app = spawn(b, s).await;
    let owner = app.requester().await;
    let admin = app.user_with_role(Role::Admin).await;
    let ticket = app.ticket(&owner).await;
    let other_ticket = app.ticket(&owner).await;
    let parts: Vec<_> = (0..3)
        .map(|i| file(&format!("{i}.png"), None, &png()))
        .collect();
    assert_eq!(app.upload(&owner, &ticket, &parts).await.status(), 201);
    app.upload_ok(&owner, &other_ticket, file("keep.png", None, &png()))
        .await;
    assert_eq!(app.objects().await.len(), 4);

    // Only admins may call the internal endpoint.
    let resp = app
        .delete(&format!("/internal/tickets/{ticket}/attachments"), &owner)
        .await;
    assert_problem(resp, 403).await;

    // The tickets service's admin delete calls it with the admin's token.
    let resp = app
        .http
        .delete(format!("{}/api/tickets/{ticket}", app.tickets_base))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());
    assert_eq!(app.rows().await, 1);
    assert_eq!(app.objects().await.len(), 1);
    let left: serde_json::Value = app
        .get(&format!("/api/tickets/{other_ticket}/attachments"), &owner)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(left["items"][0]["filename"], "keep.png");
}

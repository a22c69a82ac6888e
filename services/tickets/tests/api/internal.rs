//! The endpoints the attachments service calls with the user's forwarded token.

use docket_platform::auth::Role;
use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::{Value, json};

use crate::helpers::spawn;

backend_tests!(
    access_answers_for_readers_and_is_404_for_everyone_else,
    attachment_events_are_appended_by_readers_only,
    internal_calls_need_a_valid_token,
    an_uploads_events_are_appended_in_one_call_all_or_none,
    the_bearer_scheme_of_a_forwarded_token_is_matched_whatever_its_case,
);

async fn access_answers_for_readers_and_is_404_for_everyone_else(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let other = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    let ticket = app.ticket(&owner, "Printer on fire").await;
    let id = ticket["id"].as_str().unwrap();
    let path = format!("/internal/tickets/{id}/access");

    let mine: Value = app.json(&path, &owner).await;
    assert_eq!(
        mine,
        json!({"ticket_id": id, "requester_id": owner.id, "can_read": true, "can_manage": false})
    );
    let staff: Value = app.json(&path, &agent).await;
    assert_eq!(staff["can_manage"], true);
    assert_problem(app.get(&path, &other).await, 404).await;
    let unknown = format!("/internal/tickets/{}/access", uuid::Uuid::new_v4());
    assert_problem(app.get(&unknown, &agent).await, 404).await;
    assert_problem(
        app.get("/internal/tickets/not-a-uuid/access", &agent).await,
        404,
    )
    .await;
}

async fn attachment_events_are_appended_by_readers_only(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let other = app.requester().await;
    let ticket = app.ticket(&owner, "Scanner").await;
    let id = ticket["id"].as_str().unwrap();
    let path = format!("/internal/tickets/{id}/events");
    let attachment_id = uuid::Uuid::new_v4().to_string();
    let data = json!({"attachment_id": attachment_id, "filename": "scan.pdf"});

    let resp = app
        .post(
            &path,
            &owner,
            &json!({"kind": "attachment_added", "data": data}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let event: Value = resp.json().await.unwrap();
    assert_eq!(event["kind"], "attachment_added");
    assert_eq!(event["actor_id"], owner.id.as_str());
    assert_eq!(event["data"], data);

    let resp = app
        .post(
            &path,
            &owner,
            &json!({"kind": "attachment_removed", "data": data}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    assert_problem(
        app.post(
            &path,
            &owner,
            &json!({"kind": "status_changed", "data": {}}),
        )
        .await,
        422,
    )
    .await;
    assert_problem(
        app.post(
            &path,
            &owner,
            &json!({"kind": "attachment_added", "data": 3}),
        )
        .await,
        422,
    )
    .await;
    // Invisible comes before validation.
    assert_problem(
        app.post(&path, &other, &json!({"kind": "bogus"})).await,
        404,
    )
    .await;

    let history: Value = app.json(&format!("/api/tickets/{id}/events"), &owner).await;
    let kinds: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "attachment_added", "attachment_removed"]);
}

async fn internal_calls_need_a_valid_token(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let ticket = app.ticket(&owner, "Token").await;
    let path = format!(
        "/internal/tickets/{}/access",
        ticket["id"].as_str().unwrap()
    );
    let resp = app.http.get(app.url(&path)).send().await.unwrap();
    assert_problem(resp, 401).await;
    let resp = app
        .http
        .get(app.url(&path))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401).await;
}

async fn an_uploads_events_are_appended_in_one_call_all_or_none(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let ticket = app.ticket(&owner, "Three scans").await;
    let id = ticket["id"].as_str().unwrap();
    let path = format!("/internal/tickets/{id}/events");
    let event = |name: &str| {
        json!({"kind": "attachment_added",
            "data": {"attachment_id": uuid::Uuid::new_v4().to_string(), "filename": name}})
    };
    let resp = app
        .post(
            &path,
            &owner,
            &json!({"events": [event("a.pdf"), event("b.pdf"), event("c.pdf")]}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 3);

    // One bad event refuses them all.
    let bad = json!({"kind": "status_changed", "data": {}});
    let resp = app
        .post(&path, &owner, &json!({"events": [event("d.pdf"), bad]}))
        .await;
    assert_problem(resp, 422).await;

    let history: Value = app.json(&format!("/api/tickets/{id}/events"), &owner).await;
    let files: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "attachment_added")
        .map(|e| e["data"]["filename"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["a.pdf", "b.pdf", "c.pdf"]);
}

async fn the_bearer_scheme_of_a_forwarded_token_is_matched_whatever_its_case(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let ticket = app.ticket(&owner, "Case").await;
    let path = format!(
        "/internal/tickets/{}/access",
        ticket["id"].as_str().unwrap()
    );
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let resp = app
            .http
            .get(app.url(&path))
            .header("authorization", format!("{scheme} {}", owner.token))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{scheme}");
    }
}

//! Comments and internal notes: who may post them and who sees them.

use docket_platform::auth::Role;
use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::{Value, json};

use crate::helpers::{ids, spawn};

backend_tests!(
    internal_notes_never_reach_the_requester,
    comments_page_oldest_first_and_bad_bodies_are_422,
);

async fn internal_notes_never_reach_the_requester(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    let t = app.ticket(&owner, "Slow wifi").await;
    let path = format!("/api/tickets/{}/comments", t["id"].as_str().unwrap());
    let resp = app
        .post(&path, &owner, &json!({"body": "Still slow"}))
        .await;
    assert_eq!(resp.status(), 201);
    let public: Value = resp.json().await.unwrap();
    assert_eq!(public["internal"], false);
    assert_eq!(public["author_id"], owner.id.as_str());
    let resp = app
        .post(
            &path,
            &agent,
            &json!({"body": "Router is EOL", "internal": true}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let note: Value = resp.json().await.unwrap();
    let reply: Value = app
        .post(&path, &agent, &json!({"body": "Replacing it today"}))
        .await
        .json()
        .await
        .unwrap();

    let seen_by_owner = app.json(&path, &owner).await;
    assert_eq!(
        ids(&seen_by_owner),
        [
            public["id"].as_str().unwrap(),
            reply["id"].as_str().unwrap()
        ]
    );
    let seen_by_agent = app.json(&path, &agent).await;
    assert_eq!(ids(&seen_by_agent).len(), 3);

    let events = format!("/api/tickets/{}/events", t["id"].as_str().unwrap());
    let owner_history = app.json(&events, &owner).await;
    let agent_history = app.json(&events, &agent).await;
    let added = |h: &Value| -> Vec<Value> {
        h["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "comment_added")
            .map(|e| e["data"].clone())
            .collect()
    };
    assert_eq!(
        added(&owner_history),
        [
            json!({"comment_id": public["id"], "internal": false}),
            json!({"comment_id": reply["id"], "internal": false})
        ]
    );
    assert_eq!(added(&agent_history).len(), 3);
    assert!(added(&agent_history).contains(&json!({"comment_id": note["id"], "internal": true})));
    let text = app.get(&events, &owner).await.text().await.unwrap();
    assert!(!text.contains(note["id"].as_str().unwrap()));
}

async fn comments_page_oldest_first_and_bad_bodies_are_422(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let t = app.ticket(&owner, "Chatty").await;
    let path = format!("/api/tickets/{}/comments", t["id"].as_str().unwrap());
    let mut posted = Vec::new();
    for i in 0..5 {
        let c: Value = app
            .post(&path, &owner, &json!({"body": format!("comment {i}")}))
            .await
            .json()
            .await
            .unwrap();
        posted.push(c["id"].as_str().unwrap().to_owned());
    }
    let first = app.json(&format!("{path}?limit=2"), &owner).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .json(&format!("{path}?limit=2&cursor={cursor}"), &owner)
        .await;
    let cursor = second["next_cursor"].as_str().unwrap();
    let third = app
        .json(&format!("{path}?limit=2&cursor={cursor}"), &owner)
        .await;
    assert!(third["next_cursor"].is_null());
    let all: Vec<String> = [ids(&first), ids(&second), ids(&third)].concat();
    assert_eq!(all, posted);

    for body in [
        json!({"body": ""}),
        json!({"body": "   "}),
        json!({"body": "x".repeat(20_001)}),
        json!({"internal": false}),
    ] {
        assert_problem(app.post(&path, &owner, &body).await, 422).await;
    }
    assert_problem(app.get(&format!("{path}?limit=101"), &owner).await, 422).await;
    assert_problem(app.get(&format!("{path}?cursor=%%%"), &owner).await, 422).await;
}

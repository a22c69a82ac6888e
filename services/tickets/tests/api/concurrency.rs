//! Lost updates are impossible: of many PATCHes of one version, exactly one wins; of many
//! comments at once, every one is kept and found by search.

use docket_platform::auth::Role;
use docket_testkit::{Backend, backend_tests};
use serde_json::{Value, json};

use crate::helpers::spawn;

backend_tests!(
    concurrent_patches_of_one_version_have_exactly_one_winner,
    concurrent_comments_are_all_searchable,
);

async fn concurrent_patches_of_one_version_have_exactly_one_winner(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    for round in 0..3 {
        let ticket = app.ticket(&owner, "Race").await;
        let path = format!("/api/tickets/{}", ticket["id"].as_str().unwrap());
        let priorities = [
            "low", "high", "urgent", "low", "high", "urgent", "low", "high",
        ];
        let calls = priorities.iter().enumerate().map(|(i, p)| {
            let app = &app;
            let path = &path;
            let agent = &agent;
            async move {
                // Half by If-Match, half by body version: both guard the same way.
                let resp = if i % 2 == 0 {
                    app.patch(path, agent, Some("\"1\""), &json!({"priority": p}))
                        .await
                } else {
                    app.patch(path, agent, None, &json!({"priority": p, "version": 1}))
                        .await
                };
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap();
                (i, status, body)
            }
        });
        let results = futures_util::future::join_all(calls).await;
        let winners: Vec<_> = results.iter().filter(|r| r.1 == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for (i, status, _) in &results {
            if *status != 200 {
                let want = if i % 2 == 0 { 412 } else { 409 };
                assert_eq!(*status, want, "round {round}: call {i}");
            }
        }
        let winner = &winners[0];
        let now: Value = app.json(&path, &agent).await;
        assert_eq!(now["version"], 2);
        assert_eq!(now["priority"], winner.2["priority"]);
        let history = app.json(&format!("{path}/events"), &agent).await;
        let changes = history["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "priority_changed")
            .count();
        assert_eq!(changes, 1, "round {round}: one change, one event");
    }
}

/// Each comment adds its words to the ticket's search documents (on Postgres by appending to
/// them under the row's lock): comments posted at once must not drop each other's words, and
/// an edit of the text, which writes the documents anew, must keep them.
async fn concurrent_comments_are_all_searchable(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    let ticket = app.ticket(&owner, "Busy").await;
    let id = ticket["id"].as_str().unwrap();
    let path = format!("/api/tickets/{id}");
    // Every third is an internal note.
    let words: Vec<(String, bool)> = (0..12)
        .map(|i| (format!("quasar{i}word"), i % 3 == 2))
        .collect();
    let posts = words.iter().map(|(word, internal)| {
        let app = &app;
        let path = &path;
        let agent = &agent;
        async move {
            let body = json!({"body": format!("Seen {word} again"), "internal": internal});
            app.post(&format!("{path}/comments"), agent, &body)
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");

    let found = |q: String, who| {
        let app = &app;
        async move {
            app.json(&format!("/api/tickets?q={q}"), who).await["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let check = |stage: &'static str| {
        let words = &words;
        let found = &found;
        let owner = &owner;
        let agent = &agent;
        async move {
            for (word, internal) in words {
                assert_eq!(found(word.clone(), agent).await, [id], "{stage}: {word}");
                let by_owner = found(word.clone(), owner).await;
                if *internal {
                    assert!(by_owner.is_empty(), "{stage}: note {word} leaked");
                } else {
                    assert_eq!(by_owner, [id], "{stage}: {word}");
                }
            }
        }
    };
    check("after the comments").await;
    let resp = app
        .patch(
            &path,
            &owner,
            Some("1"),
            &json!({"description": "Rewritten"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    check("after an edit").await;
    assert_eq!(found("rewritten".into(), &owner).await, [id]);
}

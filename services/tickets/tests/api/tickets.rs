//! Tickets: create, read, list with filters and search, paging, versioned PATCH and history,
//! delete with its attachments.

use docket_platform::auth::Role;
use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::{Value, json};
use sqlx::Row as _;

use crate::helpers::{ids, spawn, spawn_with};

backend_tests!(
    a_new_ticket_is_open_normal_and_at_version_one,
    bad_input_is_a_problem_never_a_500,
    each_filter_narrows_the_list,
    search_finds_subject_description_and_visible_comments_only,
    a_long_tickets_requester_finds_a_word_an_internal_note_had_first,
    a_comment_moves_the_ticket_but_keeps_its_version,
    paging_reaches_every_ticket_once_while_tickets_are_created,
    patch_needs_the_current_version_and_records_each_change,
    assignees_must_be_active_staff,
    delete_removes_everything_after_the_attachments_go,
    delete_fails_and_keeps_everything_when_attachments_cannot_be_removed,
);

async fn a_new_ticket_is_open_normal_and_at_version_one(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let resp = app
        .post(
            "/api/tickets",
            &owner,
            &json!({"subject": "  VPN down ", "description": "Since 9am"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let t: Value = resp.json().await.unwrap();
    assert_eq!(t["subject"], "VPN down");
    assert_eq!(t["status"], "open");
    assert_eq!(t["priority"], "normal");
    assert_eq!(t["version"], 1);
    assert_eq!(t["requester_id"], owner.id.as_str());
    assert!(t["assignee_id"].is_null());
    assert!(t["created_at"].is_string() && t["updated_at"].is_string());
    let id = t["id"].as_str().unwrap();
    assert_eq!(app.json(&format!("/api/tickets/{id}"), &owner).await, t);

    // A requester may choose the priority when opening.
    let urgent: Value = app
        .post(
            "/api/tickets",
            &owner,
            &json!({"subject": "Server room flooded", "priority": "urgent"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(urgent["priority"], "urgent");
    let history = app.json(&format!("/api/tickets/{id}/events"), &owner).await;
    assert_eq!(history["items"][0]["kind"], "created");
    assert_eq!(history["items"][0]["actor_id"], owner.id.as_str());
}

async fn bad_input_is_a_problem_never_a_500(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    for body in [
        json!({"subject": ""}),
        json!({"subject": "x".repeat(201)}),
        json!({"subject": "ok", "description": "x".repeat(20_001)}),
        json!({"subject": "ok", "priority": "bogus"}),
        json!({"description": "no subject"}),
        json!({"subject": ["an", "array"]}),
    ] {
        assert_problem(app.post("/api/tickets", &owner, &body).await, 422).await;
    }
    let resp = app
        .http
        .post(app.url("/api/tickets"))
        .bearer_auth(&owner.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400).await;
    let resp = app
        .http
        .post(app.url("/api/tickets"))
        .json(&json!({"subject": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401).await;

    for path in [
        format!("/api/tickets/{}", uuid::Uuid::new_v4()),
        "/api/tickets/not-a-uuid".to_owned(),
        "/api/tickets/%27%20OR%201=1".to_owned(),
        format!("/api/tickets/{}/comments", uuid::Uuid::new_v4()),
        "/api/tickets/123/events".to_owned(),
    ] {
        assert_problem(app.get(&path, &agent).await, 404).await;
    }
    for query in [
        "limit=0",
        "limit=101",
        "cursor=%%%garbage",
        "cursor=bm9waXBl",
        "assignee_id=nope",
        "requester_id=42",
    ] {
        assert_problem(app.get(&format!("/api/tickets?{query}"), &agent).await, 422).await;
    }
    let long_q = format!("/api/tickets?q={}", "a".repeat(201));
    assert_problem(app.get(&long_q, &agent).await, 422).await;
    for query in ["status=bogus", "priority=extreme", "limit=abc"] {
        let resp = app.get(&format!("/api/tickets?{query}"), &agent).await;
        let status = resp.status().as_u16();
        assert!(status == 400 || status == 422, "{query}: {status}");
        assert_problem(resp, status).await;
    }
}

async fn each_filter_narrows_the_list(backend: Backend) {
    let app = spawn(backend).await;
    let alice = app.requester().await;
    let bob = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    let a1 = app.ticket(&alice, "Alice one").await;
    let a2 = app.ticket(&alice, "Alice two").await;
    let b1 = app.ticket(&bob, "Bob one").await;
    let id = |t: &Value| t["id"].as_str().unwrap().to_owned();
    let resp = app
        .patch(
            &format!("/api/tickets/{}", id(&a2)),
            &agent,
            Some("1"),
            &json!({"status": "in_progress", "priority": "high", "assignee_id": agent.id}),
        )
        .await;
    assert_eq!(resp.status(), 200);

    let all = app.json("/api/tickets", &agent).await;
    assert_eq!(ids(&all), [id(&b1), id(&a2), id(&a1)], "newest first");
    assert!(all["next_cursor"].is_null());
    let cases = [
        ("status=in_progress", vec![id(&a2)]),
        ("status=open", vec![id(&b1), id(&a1)]),
        ("priority=high", vec![id(&a2)]),
        ("priority=normal", vec![id(&b1), id(&a1)]),
        (&*format!("assignee_id={}", agent.id), vec![id(&a2)]),
        (&*format!("requester_id={}", bob.id), vec![id(&b1)]),
        (
            &*format!("requester_id={}&status=open", alice.id),
            vec![id(&a1)],
        ),
        ("status=closed", vec![]),
    ];
    for (query, want) in cases {
        let page = app.json(&format!("/api/tickets?{query}"), &agent).await;
        assert_eq!(ids(&page), want, "{query}");
    }
    // A requester's filters only ever narrow their own tickets.
    let mine = app.json("/api/tickets", &alice).await;
    assert_eq!(ids(&mine), [id(&a2), id(&a1)]);
    let theirs = app
        .json(&format!("/api/tickets?requester_id={}", bob.id), &alice)
        .await;
    assert!(ids(&theirs).is_empty());
}

async fn search_finds_subject_description_and_visible_comments_only(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    let other = app.requester().await;
    let printer = app.ticket(&owner, "Printer jams on page two").await;
    let vpn: Value = app
        .post(
            "/api/tickets",
            &owner,
            &json!({"subject": "Remote access", "description": "The VPN client crashes"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let mail = app.ticket(&owner, "Mail").await;
    let pid = printer["id"].as_str().unwrap();
    let vid = vpn["id"].as_str().unwrap();
    let mid = mail["id"].as_str().unwrap();
    let _ = app.ticket(&other, "Printer in the other office").await;
    app.post(
        &format!("/api/tickets/{mid}/comments"),
        &owner,
        &json!({"body": "Outlook shows a certificate warning"}),
    )
    .await;
    app.post(
        &format!("/api/tickets/{mid}/comments"),
        &agent,
        &json!({"body": "Suspect the zebrafish relay", "internal": true}),
    )
    .await;

    let search = |q: &str, who| {
        let app = &app;
        let q = q.to_owned();
        async move { ids(&app.json(&format!("/api/tickets?q={q}"), who).await) }
    };
    assert_eq!(search("printer", &owner).await, [pid]);
    assert_eq!(search("PRINTER%20page", &owner).await, [pid]);
    assert_eq!(search("vpn", &owner).await, [vid]);
    assert_eq!(search("certificate", &owner).await, [mid]);
    assert_eq!(search("certificate", &agent).await, [mid]);
    // Internal notes: searchable by staff, invisible to the requester.
    assert_eq!(search("zebrafish", &agent).await, [mid]);
    assert!(search("zebrafish", &owner).await.is_empty());
    // The words may be anywhere in the ticket: subject and a comment, or (for staff) a comment
    // and an internal note.
    assert_eq!(search("outlook%20mail", &owner).await, [mid]);
    assert_eq!(search("zebrafish%20certificate", &agent).await, [mid]);
    assert!(search("zebrafish%20certificate", &owner).await.is_empty());
    // Search syntax is just text; punctuation alone matches nothing.
    assert!(search("%22printer%22%20OR%20*", &owner).await.is_empty());
    assert!(search("%21%21", &owner).await.is_empty());
    assert_eq!(search("printer", &agent).await.len(), 2);
    // Search results page like any list.
    let first = app.json("/api/tickets?q=printer&limit=1", &agent).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .json(
            &format!("/api/tickets?q=printer&limit=1&cursor={cursor}"),
            &agent,
        )
        .await;
    assert_eq!(
        [ids(&first), ids(&second)].concat(),
        search("printer", &agent).await
    );
    assert!(second["next_cursor"].is_null());
    let notes = app.json("/api/tickets?q=zebrafish&limit=1", &owner).await;
    assert!(ids(&notes).is_empty());
    // Filters combine with search.
    assert_eq!(
        app.json("/api/tickets?q=printer&status=closed", &agent)
            .await["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Editing the text re-indexes it.
    let resp = app
        .patch(
            &format!("/api/tickets/{pid}"),
            &owner,
            Some("1"),
            &json!({"subject": "Scanner jams"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(search("printer", &owner).await.is_empty());
    assert_eq!(search("scanner", &owner).await, [pid]);

    // A word of an internal note becomes the requester's once a public comment has it too;
    // the note's other words stay hidden, also after the ticket's text is rewritten.
    assert!(search("relay", &owner).await.is_empty());
    app.post(
        &format!("/api/tickets/{mid}/comments"),
        &owner,
        &json!({"body": "Could the relay be at fault?"}),
    )
    .await;
    assert_eq!(search("relay", &owner).await, [mid]);
    assert!(search("zebrafish", &owner).await.is_empty());
    let version = app.json(&format!("/api/tickets/{mid}"), &owner).await["version"].to_string();
    let resp = app
        .patch(
            &format!("/api/tickets/{mid}"),
            &owner,
            Some(&version),
            &json!({"description": "Outlook and the relay"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(search("relay", &owner).await, [mid]);
    assert!(search("zebrafish", &owner).await.is_empty());
    assert_eq!(search("zebrafish%20relay", &agent).await, [mid]);
}

/// Postgres keeps at most 16 383 word positions in a document: in a longer ticket, every later
/// word sits at the last one. A word that an internal note brought in there, at the internal
/// weight, must still become the requester's when their own comment repeats it.
async fn a_long_tickets_requester_finds_a_word_an_internal_note_had_first(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    // 10 000 words in the description and 10 000 in a comment, each ending in a word of its
    // own (a document keeps 256 positions of a word: "w" alone would stay at the first ones).
    let words = |last: &str| format!("{}{last}", "w ".repeat(9_998));
    let ticket: Value = app
        .post(
            "/api/tickets",
            &owner,
            &json!({"subject": "Long", "description": words("end")}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = ticket["id"].as_str().unwrap();
    let comment = |user, body: &str, internal| {
        let app = &app;
        let body = json!({"body": body, "internal": internal});
        async move {
            let resp = app
                .post(&format!("/api/tickets/{id}/comments"), user, &body)
                .await;
            assert_eq!(resp.status(), 201);
        }
    };
    comment(&owner, &words("fin"), false).await;
    comment(&agent, "Suspect the zebrafish relay", true).await;
    let search = |q: &'static str| {
        let app = &app;
        let owner = &owner;
        async move { ids(&app.json(&format!("/api/tickets?q={q}"), owner).await) }
    };
    assert!(search("zebrafish").await.is_empty());
    comment(&owner, "What is a zebrafish?", false).await;
    assert_eq!(search("zebrafish").await, [id]);
    assert!(search("relay").await.is_empty());
}

async fn paging_reaches_every_ticket_once_while_tickets_are_created(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let mut created = Vec::new();
    for i in 0..25 {
        let t = app.ticket(&owner, &format!("Ticket {i}")).await;
        created.push(t["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/tickets?limit=10&cursor={c}"),
            None => "/api/tickets?limit=10".to_owned(),
        };
        let page = app.json(&path, &owner).await;
        pages += 1;
        let items = ids(&page);
        assert!(items.len() <= 10);
        seen.extend(items);
        // New tickets arrive between pages: they are newer than any cursor.
        app.ticket(&owner, &format!("Arrived after page {pages}"))
            .await;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    created.reverse();
    assert_eq!(seen, created, "all 25, newest first, no duplicates");

    // The same for a search, whose pages follow the search index's own order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/tickets?q=ticket&limit=10&cursor={c}"),
            None => "/api/tickets?q=ticket&limit=10".to_owned(),
        };
        let page = app.json(&path, &owner).await;
        seen.extend(ids(&page));
        app.ticket(&owner, "Another ticket arrives").await;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, created, "all 25 matches, newest first, no duplicates");
}

async fn a_comment_moves_the_ticket_but_keeps_its_version(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let t = app.ticket(&owner, "Docking station").await;
    let path = format!("/api/tickets/{}", t["id"].as_str().unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let resp = app
        .post(
            &format!("{path}/comments"),
            &owner,
            &json!({"body": "Still flickering"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let after = app.json(&path, &owner).await;
    assert_eq!(after["version"], 1, "a comment does not make edits stale");
    assert_eq!(after["created_at"], t["created_at"]);
    assert!(
        after["updated_at"].as_str().unwrap() > t["updated_at"].as_str().unwrap(),
        "{after}"
    );
    // An edit based on the version read before the comment still applies.
    let resp = app
        .patch(&path, &owner, Some("1"), &json!({"subject": "Dock"}))
        .await;
    assert_eq!(resp.status(), 200);
}

async fn patch_needs_the_current_version_and_records_each_change(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    let t = app.ticket(&owner, "Laptop").await;
    let path = format!("/api/tickets/{}", t["id"].as_str().unwrap());

    assert_problem(
        app.patch(&path, &owner, None, &json!({"subject": "x"}))
            .await,
        428,
    )
    .await;
    assert_problem(
        app.patch(&path, &owner, Some("2"), &json!({"subject": "x"}))
            .await,
        412,
    )
    .await;
    assert_problem(
        app.patch(&path, &owner, None, &json!({"subject": "x", "version": 0}))
            .await,
        409,
    )
    .await;
    // If-Match decides when both are sent.
    assert_problem(
        app.patch(
            &path,
            &owner,
            Some("7"),
            &json!({"subject": "x", "version": 1}),
        )
        .await,
        412,
    )
    .await;
    assert_problem(
        app.patch(
            &path,
            &owner,
            Some("1"),
            &json!({"subject": "x".repeat(201)}),
        )
        .await,
        422,
    )
    .await;
    let resp = app
        .patch(
            &path,
            &owner,
            Some("\"1\""),
            &json!({"subject": "Laptop fan", "description": "Loud", "version": 99}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let t: Value = resp.json().await.unwrap();
    assert_eq!(
        (t["version"].clone(), t["subject"].clone()),
        (json!(2), json!("Laptop fan"))
    );
    // A stale write changed nothing.
    assert_problem(
        app.patch(&path, &agent, Some("1"), &json!({"status": "waiting"}))
            .await,
        412,
    )
    .await;
    assert_eq!(app.json(&path, &agent).await["status"], "open");

    let resp = app
        .patch(
            &path,
            &agent,
            None,
            &json!({"version": 2, "status": "in_progress", "priority": "high", "assignee_id": agent.id}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .patch(&path, &agent, Some("3"), &json!({"assignee_id": null}))
        .await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .patch(&path, &owner, Some("4"), &json!({"status": "closed"}))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["version"], 5);

    let history = app.json(&format!("{path}/events"), &owner).await;
    let got: Vec<(String, Value)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["data"].clone()))
        .collect();
    let want = vec![
        (
            "created".into(),
            json!({"status": "open", "priority": "normal"}),
        ),
        (
            "updated".into(),
            json!({"fields": ["subject", "description"]}),
        ),
        (
            "status_changed".into(),
            json!({"field": "status", "from": "open", "to": "in_progress"}),
        ),
        (
            "priority_changed".into(),
            json!({"field": "priority", "from": "normal", "to": "high"}),
        ),
        (
            "assignee_changed".into(),
            json!({"field": "assignee_id", "from": null, "to": agent.id}),
        ),
        (
            "assignee_changed".into(),
            json!({"field": "assignee_id", "from": agent.id, "to": null}),
        ),
        (
            "status_changed".into(),
            json!({"field": "status", "from": "in_progress", "to": "closed"}),
        ),
    ];
    assert_eq!(got, want);
    let actors: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor_id"].as_str().unwrap())
        .collect();
    assert_eq!(actors[2], agent.id);
    assert_eq!(actors[6], owner.id);
}

async fn assignees_must_be_active_staff(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    let admin = app.user_with_role(Role::Admin).await;
    let t = app.ticket(&owner, "Assign me").await;
    let path = format!("/api/tickets/{}", t["id"].as_str().unwrap());
    for bad in [
        json!(owner.id),
        json!(uuid::Uuid::new_v4()),
        json!("not-a-uuid"),
    ] {
        assert_problem(
            app.patch(&path, &agent, Some("1"), &json!({"assignee_id": bad}))
                .await,
            422,
        )
        .await;
    }
    let resp = app
        .patch(&path, &agent, Some("1"), &json!({"assignee_id": admin.id}))
        .await;
    assert_eq!(resp.status(), 200);
}

async fn delete_removes_everything_after_the_attachments_go(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let admin = app.user_with_role(Role::Admin).await;
    let t = app.ticket(&owner, "Doomed").await;
    let keep = app.ticket(&owner, "Kept").await;
    let id = t["id"].as_str().unwrap();
    let path = format!("/api/tickets/{id}");
    app.post(&format!("{path}/comments"), &owner, &json!({"body": "bye"}))
        .await;
    let resp = app.delete(&path, &admin).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        app.attachments.calls(),
        [(id.to_owned(), Some(admin.token.clone()))],
        "the admin's token is forwarded"
    );
    assert_problem(app.get(&path, &admin).await, 404).await;
    assert_problem(app.delete(&path, &admin).await, 404).await;
    for table in ["comments", "events"] {
        let n: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM {table} WHERE ticket_id = $1"
        ))
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
        .get("n");
        assert_eq!(n, 0, "{table}");
    }
    assert!(ids(&app.json("/api/tickets?q=doomed", &admin).await).is_empty());
    if backend == Backend::Sqlite {
        // The search document went too: one per remaining ticket.
        let count = |sql: &'static str| {
            let pool = app.pool.clone();
            async move {
                sqlx::query(sql)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
                    .get::<i64, _>(0)
            }
        };
        assert_eq!(
            count("SELECT COUNT(*) FROM search.ticket_text").await,
            count("SELECT COUNT(*) FROM tickets").await
        );
    }
    assert_eq!(
        app.json(
            &format!("/api/tickets/{}", keep["id"].as_str().unwrap()),
            &admin
        )
        .await["subject"],
        "Kept"
    );
    // "Nothing there" from the attachments service is fine too.
    app.attachments.answer_with(404);
    let t = app.ticket(&owner, "No files").await;
    let resp = app
        .delete(
            &format!("/api/tickets/{}", t["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    assert_eq!(resp.status(), 204);
}

async fn delete_fails_and_keeps_everything_when_attachments_cannot_be_removed(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let admin = app.user_with_role(Role::Admin).await;
    let t = app.ticket(&owner, "Sticky").await;
    let path = format!("/api/tickets/{}", t["id"].as_str().unwrap());
    app.post(
        &format!("{path}/comments"),
        &owner,
        &json!({"body": "still here"}),
    )
    .await;
    app.attachments.answer_with(500);
    assert_problem(app.delete(&path, &admin).await, 502).await;
    app.attachments.answer_with(503);
    assert_problem(app.delete(&path, &admin).await, 503).await;
    assert_eq!(app.json(&path, &admin).await["subject"], "Sticky");
    assert_eq!(
        app.json(&format!("{path}/comments"), &admin).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // An attachments service that is not running at all: a clear 502, nothing removed.
    let app = spawn_with(backend, &[("ATTACHMENTS_URL", "http://127.0.0.1:9")]).await;
    let owner = app.requester().await;
    let admin = app.user_with_role(Role::Admin).await;
    let t = app.ticket(&owner, "Unreachable").await;
    let path = format!("/api/tickets/{}", t["id"].as_str().unwrap());
    let body = assert_problem(app.delete(&path, &admin).await, 502).await;
    assert!(body["detail"].as_str().unwrap().contains("attachments"));
    assert_eq!(app.json(&path, &admin).await["subject"], "Unreachable");
}

/// Postgres only (a SQLite connection cannot be cut): connections the server dropped while
/// they sat idle, as a database restart or failover does, are found and replaced before a
/// request gets one: the pool's (transactions) and the service's own (single statements).
/// Idle connections are checked only after a second idle (`PING_AFTER_IDLE`), not before
/// every query.
#[tokio::test]
async fn connections_cut_while_idle_are_replaced_before_a_request_gets_one() {
    let app = spawn(Backend::Postgres).await;
    let agent = app.user_with_role(Role::Agent).await;
    let t = app.ticket(&agent, "Survives a restart").await;
    let path = format!("/api/tickets/{}", t["id"].as_str().unwrap());

    // Fill the pool with a few connections and learn their server processes.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(app.pool.acquire().await.unwrap());
    }
    let mut pids = Vec::new();
    for conn in &mut held {
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        pids.push(pid);
    }
    drop(held);
    // And the connections for single statements (`Db::fetch_all`), which reads use: four at
    // once, so four are opened.
    let pid_rows = futures_util::future::join_all((0..4).map(|_| {
        app.db.fetch_all(sqlx::query(
            "SELECT pg_backend_pid() AS pid, pg_sleep(0.1)::text AS s",
        ))
    }))
    .await;
    for rows in pid_rows {
        let pid: i32 = rows.unwrap()[0].get("pid");
        assert!(!pids.contains(&pid));
        pids.push(pid);
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // Another pool on the same server cuts them, as a restart would.
    for pid in &pids {
        let cut: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(*pid)
            .fetch_one(&app.auth_pool)
            .await
            .unwrap();
        assert!(cut, "pid {pid}");
    }
    tokio::time::sleep(
        docket_platform::db::PING_AFTER_IDLE + std::time::Duration::from_millis(200),
    )
    .await;

    let answers = futures_util::future::join_all((0..8).map(|_| app.get(&path, &agent))).await;
    for resp in answers {
        assert_eq!(resp.status(), 200);
    }
    for _ in 0..8 {
        assert_eq!(app.get(&path, &agent).await.status(), 200);
    }
}

/// Postgres only (a SQLite statement cannot be made to run long): a statement dropped half
/// way, as when its request is cancelled, does not leave its connection to the next one. If
/// it did, the next statement would wait behind the server's unfinished reply.
#[tokio::test]
async fn a_statement_dropped_half_way_does_not_hold_up_the_next() {
    let app = spawn(Backend::Postgres).await;
    let slow = app
        .db
        .fetch_all(sqlx::query("SELECT pg_sleep(5)::text AS s"));
    let dropped = tokio::time::timeout(std::time::Duration::from_millis(200), slow).await;
    assert!(dropped.is_err(), "the slow statement was dropped");
    let next = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        app.db.fetch_all(sqlx::query("SELECT 7 AS n")),
    )
    .await
    .expect("the next statement is not held up")
    .unwrap();
    assert_eq!(next[0].get::<i32, _>("n"), 7);
}

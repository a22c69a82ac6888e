//! What mail goes to whom, and what it looks like, as received by a real SMTP server.

use std::collections::HashSet;

use docket_platform::auth::Role;
use docket_testkit::{Backend, backend_tests};
use serde_json::json;

use crate::helpers::{MAIL_WAIT, QUIET, spawn};

backend_tests!(
    each_event_mails_exactly_the_people_the_rules_name,
    a_ticket_s_mails_thread_and_unsubscribe_in_one_click,
    user_text_is_escaped_in_the_html_part,
    reading_the_whole_feed_again_sends_nothing_twice,
);

async fn each_event_mails_exactly_the_people_the_rules_name(backend: Backend) {
    let app = spawn(backend, &[], true).await;
    let requester = app.user(Role::Requester, "Rita Requester").await;
    let agent = app.user(Role::Agent, "Alex Agent").await;
    let watcher = app.user(Role::Agent, "Wanda Watcher").await;
    let admin = app.user(Role::Admin, "Ada Admin").await;
    assert_eq!(
        app.set_preference(&watcher, "new_ticket", true)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.set_preference(&watcher, "unassigned_reply", true)
            .await
            .status(),
        200
    );

    // created → the requester's confirmation and the opted-in watcher; not the agent.
    let t = app.create_ticket(&requester, "Printer on fire").await;
    let id = t["id"].as_str().unwrap();
    app.sink.wait_for(2, MAIL_WAIT).await;
    // requester reply on an unassigned ticket → opted-in staff.
    app.comment(&requester, id, "Any news?", false).await;
    app.sink.wait_for(3, MAIL_WAIT).await;
    // staff public reply → the requester; an internal note → nobody (no assignee yet).
    app.comment(&agent, id, "Looking into it.", false).await;
    app.comment(&agent, id, "Internal: the printer is haunted.", true)
        .await;
    app.sink.wait_for(4, MAIL_WAIT).await;
    // Recipients are worked out from the ticket as the follower finds it: let it pass the
    // note before the ticket gets an assignee.
    app.sink.settle(QUIET).await;
    // an agent taking a ticket is their own action: nothing; an admin assigning to another
    // agent → that agent.
    app.patch(&agent, id, json!({"assignee_id": agent.id}))
        .await;
    app.patch(&admin, id, json!({"assignee_id": watcher.id}))
        .await;
    app.sink.wait_for(5, MAIL_WAIT).await;
    // requester reply on an assigned ticket → the assignee; internal note by another agent
    // → the assignee, never the requester.
    app.comment(&requester, id, "Still burning.", false).await;
    app.comment(&agent, id, "Internal: call the fire brigade.", true)
        .await;
    app.sink.wait_for(7, MAIL_WAIT).await;
    // resolved → the requester.
    app.patch(&watcher, id, json!({"status": "resolved"})).await;
    app.sink.wait_for(8, MAIL_WAIT).await;
    let all = app.sink.settle(QUIET).await;

    let subjects = |email: &str| -> Vec<String> {
        app.to(email)
            .iter()
            .map(|m| m.header("Subject").unwrap_or_default())
            .collect()
    };
    let r = subjects(&requester.email);
    assert_eq!(
        r.len(),
        3,
        "requester: confirmation, public reply, resolved: {r:?}"
    );
    assert!(r[0].contains("Printer on fire") && !r[0].starts_with("Re:"));
    assert!(r[1].starts_with("Re: "));
    assert!(r[2].contains("Resolved"));
    for m in app.to(&requester.email) {
        let body = m.body_text();
        assert!(
            !body.contains("haunted") && !body.contains("fire brigade"),
            "no internal note"
        );
    }
    let w = subjects(&watcher.email);
    assert_eq!(
        w.len(),
        5,
        "watcher: new ticket, unassigned reply, assigned, two replies: {w:?}"
    );
    assert!(w[0].contains("New ticket"));
    assert!(w[2].contains("Assigned to you"));
    let fire_brigade = app
        .to(&watcher.email)
        .iter()
        .filter(|m| m.body_text().contains("fire brigade"))
        .count();
    assert_eq!(
        fire_brigade, 1,
        "the assignee sees another agent's internal note"
    );
    assert!(
        subjects(&agent.email).is_empty(),
        "the agent acted, was never assigned by another: {:?}",
        subjects(&agent.email)
    );
    assert!(subjects(&admin.email).is_empty());
    assert_eq!(
        all.len(),
        8,
        "nothing else was sent: {:?}",
        all.iter()
            .map(|m| (m.to.clone(), m.header("Subject")))
            .collect::<Vec<_>>()
    );
}

async fn a_ticket_s_mails_thread_and_unsubscribe_in_one_click(backend: Backend) {
    let app = spawn(backend, &[], true).await;
    let requester = app.user(Role::Requester, "Rita").await;
    let agent = app.user(Role::Agent, "Alex").await;
    let t = app.create_ticket(&requester, "VPN drops").await;
    let id = t["id"].as_str().unwrap();
    app.comment(&agent, id, "Which client version?", false)
        .await;
    let mails = app.sink.wait_for(2, MAIL_WAIT).await;
    assert_eq!(mails.len(), 2);
    let root = format!("<ticket-{}@docket.test>", id.replace('-', ""));
    let ids: HashSet<String> = mails.iter().map(|m| m.message_id()).collect();
    assert_eq!(ids.len(), 2, "each mail has its own Message-ID");
    for m in &mails {
        assert!(m.message_id().ends_with("@docket.test>"));
        assert_eq!(m.header("In-Reply-To").as_deref(), Some(root.as_str()));
        assert_eq!(m.header("References").as_deref(), Some(root.as_str()));
        assert_eq!(
            m.header("List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        assert!(m.header("From").unwrap().contains("support@docket.test"));
        let body = m.body_text();
        assert!(
            body.contains(&format!("https://help.docket.test/tickets/{id}")),
            "link from PUBLIC_URL"
        );
    }
    // Sent concurrently: they may arrive in either order.
    let reply = mails
        .iter()
        .find(|m| m.header("Subject").unwrap().starts_with("Re: "))
        .unwrap();
    let unsubscribe = reply.header("List-Unsubscribe").unwrap();
    let url = unsubscribe
        .trim_matches(|c| c == '<' || c == '>')
        .replace("https://help.docket.test", &app.base);

    // A GET (a link scanner) changes nothing; the one-click POST switches replies off.
    let page = app.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("method=\"post\""));
    let prefs: serde_json::Value = app
        .http
        .get(format!("{}/api/notifications/preferences", app.base))
        .bearer_auth(&requester.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reply_pref = prefs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "reply")
        .unwrap();
    assert_eq!(reply_pref["enabled"], true);
    let done = app
        .http
        .post(&url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    app.comment(&agent, id, "Second answer", false).await;
    app.patch(&agent, id, json!({"status": "closed"})).await;
    app.sink.wait_for(3, MAIL_WAIT).await;
    let after = app.sink.settle(QUIET).await;
    assert_eq!(
        after.len(),
        3,
        "only the closed mail: replies are off: {:?}",
        after
            .iter()
            .map(|m| m.header("Subject"))
            .collect::<Vec<_>>()
    );
    assert!(
        after
            .iter()
            .any(|m| m.header("Subject").unwrap().contains("Closed"))
    );

    // A forged or altered token is a 404 problem.
    let forged = url.replacen("reply", "resolved", 1);
    let resp = app.http.post(&forged).send().await.unwrap();
    docket_testkit::assert_problem(resp, 404).await;
    let resp = app
        .http
        .post(format!("{}/api/notifications/unsubscribe", app.base))
        .send()
        .await
        .unwrap();
    docket_testkit::assert_problem(resp, 404).await;
}

async fn user_text_is_escaped_in_the_html_part(backend: Backend) {
    let app = spawn(backend, &[], true).await;
    let requester = app.user(Role::Requester, "Eve <b>Bold</b>").await;
    let agent = app.user(Role::Agent, "Alex").await;
    let t = app
        .create_ticket(&requester, "<img src=x onerror=alert(1)>")
        .await;
    let id = t["id"].as_str().unwrap();
    app.comment(&agent, id, "<script>alert('x')</script> & done", false)
        .await;
    let mails = app.sink.wait_for(2, MAIL_WAIT).await;
    assert_eq!(mails.len(), 2);
    for m in &mails {
        let body = m.body_text();
        let html = body.split("text/html").nth(1).expect("an HTML part");
        assert!(!html.contains("<img src=x"), "subject escaped: {html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!html.contains("<b>Bold</b>"));
        assert!(html.contains("Eve &lt;b&gt;Bold&lt;/b&gt;"));
    }
    let reply = mails
        .iter()
        .find(|m| m.header("Subject").unwrap().starts_with("Re: "))
        .unwrap();
    let html = reply.body_text();
    let html = html.split("text/html").nth(1).unwrap();
    assert!(!html.contains("<script>"));
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; done"),
        "{html}"
    );
}

async fn reading_the_whole_feed_again_sends_nothing_twice(backend: Backend) {
    let app = spawn(backend, &[], true).await;
    let requester = app.user(Role::Requester, "Rita").await;
    let agent = app.user(Role::Agent, "Alex").await;
    let t = app.create_ticket(&requester, "Replay").await;
    let id = t["id"].as_str().unwrap();
    app.comment(&agent, id, "Answer", false).await;
    assert_eq!(app.sink.wait_for(2, MAIL_WAIT).await.len(), 2);
    // As if the cursor's commit had been lost: the follower reads every event again.
    sqlx::query("UPDATE feed_cursor SET cursor = NULL")
        .execute(app.pool.as_ref().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let after = app.sink.settle(QUIET).await;
    assert_eq!(
        after.len(),
        2,
        "the outbox's key kept the replayed events from mailing again"
    );
}

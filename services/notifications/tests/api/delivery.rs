//! Delivery through failures: the relay down for a while, past the last attempt, and the
//! service killed mid-batch.

use std::{collections::HashSet, time::Duration};

use docket_platform::auth::Role;
use docket_testkit::{Backend, backend_tests};
use serde_json::Value;

use crate::helpers::{MAIL_WAIT, QUIET, TestApp, spawn};

backend_tests!(
    with_the_relay_down_for_a_while_mail_is_retried_then_delivered_once,
    past_the_last_attempt_a_mail_is_dead_lettered_visible_and_retried_by_an_admin,
    killed_mid_batch_and_restarted_the_service_delivers_every_mail,
);

async fn admin_list(app: &TestApp, admin_token: &str, state: &str) -> Vec<Value> {
    let resp = app
        .http
        .get(format!(
            "{}/api/admin/notifications?state={state}&limit=100",
            app.base
        ))
        .bearer_auth(admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

async fn until(mut f: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    while !f().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn with_the_relay_down_for_a_while_mail_is_retried_then_delivered_once(backend: Backend) {
    let app = spawn(backend, &[], true).await;
    let admin = app.user(Role::Admin, "Ada").await;
    let requester = app.user(Role::Requester, "Rita").await;
    app.sink.set_down(true);
    app.create_ticket(&requester, "Mail server down").await;
    until(async || {
        admin_list(&app, &admin.token, "pending")
            .await
            .iter()
            .any(|m| m["attempts"].as_i64().unwrap_or(0) >= 2)
    })
    .await;
    let pending = admin_list(&app, &admin.token, "pending").await;
    assert!(
        pending[0]["last_error"].as_str().unwrap().contains("421"),
        "{pending:?}"
    );
    assert!(app.sink.messages().is_empty());
    app.sink.set_down(false);
    assert_eq!(app.sink.wait_for(1, MAIL_WAIT).await.len(), 1);
    assert_eq!(app.sink.settle(QUIET).await.len(), 1);
    let sent = admin_list(&app, &admin.token, "sent").await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0]["attempts"].as_i64().unwrap() >= 3);
    assert!(sent[0]["last_error"].is_null());
}

async fn past_the_last_attempt_a_mail_is_dead_lettered_visible_and_retried_by_an_admin(
    backend: Backend,
) {
    let app = spawn(backend, &[("NOTIFY_MAX_ATTEMPTS", "2")], true).await;
    let admin = app.user(Role::Admin, "Ada").await;
    let agent = app.user(Role::Agent, "Alex").await;
    let requester = app.user(Role::Requester, "Rita").await;
    app.sink.set_down(true);
    let t = app.create_ticket(&requester, "Dead letter").await;
    until(async || !admin_list(&app, &admin.token, "failed").await.is_empty()).await;
    let failed = admin_list(&app, &admin.token, "failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempts"], 2);
    assert_eq!(failed[0]["recipient_email"], requester.email);
    // Staff see it on the ticket; an agent may not list dead letters or retry them.
    let on_ticket: Value = app
        .http
        .get(format!(
            "{}/api/notifications/tickets/{}",
            app.base,
            t["id"].as_str().unwrap()
        ))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(on_ticket["items"][0]["state"], "failed");
    let id = failed[0]["id"].as_str().unwrap();
    let retry_url = format!("{}/api/admin/notifications/{id}/retry", app.base);
    let resp = app
        .http
        .post(&retry_url)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    docket_testkit::assert_problem(resp, 403).await;
    // Nothing more is tried while it is dead.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    app.sink.set_down(false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        app.sink.messages().is_empty(),
        "a dead letter waits for an admin"
    );
    let resp = app
        .http
        .post(&retry_url)
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["state"], "pending");
    assert_eq!(app.sink.wait_for(1, MAIL_WAIT).await.len(), 1);
    until(async || admin_list(&app, &admin.token, "failed").await.is_empty()).await;
    let unknown = format!(
        "{}/api/admin/notifications/{}/retry",
        app.base,
        uuid::Uuid::now_v7()
    );
    let resp = app
        .http
        .post(&unknown)
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    docket_testkit::assert_problem(resp, 404).await;
}

async fn killed_mid_batch_and_restarted_the_service_delivers_every_mail(backend: Backend) {
    const TICKETS: usize = 120;
    let app = spawn(
        backend,
        &[
            ("NOTIFY_BATCH_SIZE", "20"),
            ("NOTIFY_SEND_TIMEOUT_SECS", "2"),
        ],
        false,
    )
    .await;
    let requester = app.user(Role::Requester, "Rita").await;
    for i in 0..TICKETS {
        app.create_ticket(&requester, &format!("Ticket {i}")).await;
    }
    // Let the settle window pass so the whole history is readable at once.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut child = app.start_process().await;
    // Kill it (SIGKILL: no drain, no clean-up) once some mail is out but not all.
    let seen = app.sink.wait_for(10, MAIL_WAIT).await.len();
    child.process.start_kill().unwrap();
    child.process.wait().await.unwrap();
    let at_kill = app.sink.messages().len();
    assert!(
        seen >= 10 && at_kill < TICKETS,
        "killed mid-batch ({at_kill} of {TICKETS})"
    );
    let _again = app.start_process().await;
    app.sink.wait_for(TICKETS, Duration::from_secs(60)).await;
    let all = app.sink.settle(QUIET).await;
    let ids: HashSet<String> = all.iter().map(|m| m.message_id()).collect();
    assert_eq!(
        ids.len(),
        TICKETS,
        "every expected mail arrived, by Message-ID"
    );
    // A mail the relay had accepted when the process died, before its row said so, is sent
    // again under the same Message-ID: at most the sends in flight at the kill.
    let repeats = all.len() - ids.len();
    assert!(
        repeats <= 4,
        "{repeats} repeats; at most NOTIFY_SEND_CONCURRENCY (4)"
    );
    eprintln!("kill/restart: {at_kill} delivered before the kill, {repeats} repeated");
}

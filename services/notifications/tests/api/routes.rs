//! The HTTP surface: authorization on every route, problem+json for bad input, and the
//! internal routes' service token.

use docket_platform::auth::Role;
use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::Value;

use crate::helpers::{SERVICE_TOKEN, spawn};

backend_tests!(
    preferences_are_the_callers_own_and_staff_kinds_are_for_staff,
    sent_mail_and_dead_letters_are_for_staff_and_admins_only,
    the_internal_feed_and_look_ups_need_the_service_token,
);

async fn preferences_are_the_callers_own_and_staff_kinds_are_for_staff(backend: Backend) {
    let app = spawn(backend, &[], true).await;
    let requester = app.user(Role::Requester, "Rita").await;
    let agent = app.user(Role::Agent, "Alex").await;
    let url = format!("{}/api/notifications/preferences", app.base);
    assert_problem(app.http.get(&url).send().await.unwrap(), 401).await;
    let mine: Value = app
        .http
        .get(&url)
        .bearer_auth(&requester.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ticket_confirmation", "reply", "resolved"]);
    assert_problem(
        app.set_preference(&requester, "new_ticket", true).await,
        404,
    )
    .await;
    assert_problem(app.set_preference(&requester, "nonsense", true).await, 404).await;
    let resp = app.set_preference(&agent, "new_ticket", true).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let nt = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "new_ticket")
        .unwrap()
        .clone();
    assert_eq!(nt["enabled"], true);
    // Bad bodies are problems too.
    let resp = app
        .http
        .put(format!("{url}/reply"))
        .bearer_auth(&requester.token)
        .json(&serde_json::json!({"enabled": "yes"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 422).await;
}

async fn sent_mail_and_dead_letters_are_for_staff_and_admins_only(backend: Backend) {
    let app = spawn(backend, &[], true).await;
    let requester = app.user(Role::Requester, "Rita").await;
    let agent = app.user(Role::Agent, "Alex").await;
    let admin = app.user(Role::Admin, "Ada").await;
    let ticket = uuid::Uuid::now_v7();
    let on_ticket = format!("{}/api/notifications/tickets/{ticket}", app.base);
    assert_problem(
        app.http
            .get(&on_ticket)
            .bearer_auth(&requester.token)
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert_eq!(
        app.http
            .get(&on_ticket)
            .bearer_auth(&agent.token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let admin_url = format!("{}/api/admin/notifications", app.base);
    assert_problem(
        app.http
            .get(&admin_url)
            .bearer_auth(&agent.token)
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert_problem(app.http.get(&admin_url).send().await.unwrap(), 401).await;
    assert_eq!(
        app.http
            .get(&admin_url)
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let bad = app
        .http
        .get(format!("{admin_url}?state=lost"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert!(matches!(bad.status().as_u16(), 400 | 422));
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    assert_problem(
        app.http
            .get(format!("{admin_url}?limit=0"))
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_problem(
        app.http
            .get(format!("{admin_url}?cursor=nope"))
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
}

async fn the_internal_feed_and_look_ups_need_the_service_token(backend: Backend) {
    let app = spawn(backend, &[], true).await;
    let requester = app.user(Role::Requester, "Rita").await;
    let feed = format!("{}/internal/events", app.tickets_base);
    assert_problem(app.http.get(&feed).send().await.unwrap(), 401).await;
    // A user's token is no service token.
    assert_problem(
        app.http
            .get(&feed)
            .bearer_auth(&requester.token)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_problem(
        app.http
            .get(&feed)
            .header("X-Service-Token", "wrong")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    let ok = app
        .http
        .get(&feed)
        .header("X-Service-Token", SERVICE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_problem(
        app.http
            .get(format!("{feed}?after=garbage"))
            .header("X-Service-Token", SERVICE_TOKEN)
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_problem(
        app.http
            .get(format!("{feed}?limit=0"))
            .header("X-Service-Token", SERVICE_TOKEN)
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    let staff = format!("{}/internal/service/staff", app.auth_base);
    assert_problem(app.http.get(&staff).send().await.unwrap(), 401).await;
    assert_eq!(
        app.http
            .get(&staff)
            .header("X-Service-Token", SERVICE_TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let lookup = format!("{}/internal/service/users/lookup", app.auth_base);
    let resp = app
        .http
        .post(&lookup)
        .header("X-Service-Token", SERVICE_TOKEN)
        .json(&serde_json::json!({"ids": [requester.id]}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["items"][0]["email"], requester.email);
}

use docket_platform::auth::Role;
use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::{Value, json};

use crate::helpers::spawn;

backend_tests!(
    only_admins_list_users_and_pages_cover_everyone_once,
    admins_change_roles_and_bad_ids_or_values_are_problems,
    the_last_admin_cannot_demote_themselves,
    staff_can_list_assignees_and_requesters_cannot,
);

async fn only_admins_list_users_and_pages_cover_everyone_once(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.user_with_role(Role::Admin).await;
    let requester = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    for _ in 0..3 {
        app.requester().await;
    }
    assert_problem(app.get_auth("/api/users", &requester.access).await, 403).await;
    assert_problem(app.get_auth("/api/users", &agent.access).await, 403).await;
    assert_problem(
        app.http.get(app.url("/api/users")).send().await.unwrap(),
        401,
    )
    .await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/users?limit=2&cursor={c}"),
            None => "/api/users?limit=2".to_owned(),
        };
        let page: Value = app
            .get_auth(&path, &admin.access)
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(seen.len(), 6);
    assert_eq!(unique.len(), 6);

    let agents: Value = app
        .get_auth("/api/users?role=agent", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(agents["items"].as_array().unwrap().len(), 1);
    assert_problem(app.get_auth("/api/users?limit=0", &admin.access).await, 422).await;
    assert_problem(
        app.get_auth("/api/users?limit=101", &admin.access).await,
        422,
    )
    .await;
    assert_problem(
        app.get_auth("/api/users?cursor=%%%garbage", &admin.access)
            .await,
        422,
    )
    .await;
    let wrong_type = app
        .get_auth("/api/users?limit=abc", &admin.access)
        .await
        .status()
        .as_u16();
    assert!(wrong_type == 400 || wrong_type == 422);
}

async fn admins_change_roles_and_bad_ids_or_values_are_problems(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.user_with_role(Role::Admin).await;
    let user = app.requester().await;
    let patch = |id: String, body: Value, token: String| {
        app.http
            .patch(app.url(&format!("/api/users/{id}")))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let resp = patch(
        user.id.clone(),
        json!({"role": "agent"}),
        admin.access.clone(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["role"], "agent");
    // The new role shows in the next access token.
    let relogin: Value = app
        .login(&user.email, &user.password)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(relogin["user"]["role"], "agent");

    assert_problem(
        patch(
            uuid::Uuid::new_v4().to_string(),
            json!({"role": "agent"}),
            admin.access.clone(),
        )
        .await
        .unwrap(),
        404,
    )
    .await;
    assert_problem(
        patch(
            "not-a-uuid".into(),
            json!({"role": "agent"}),
            admin.access.clone(),
        )
        .await
        .unwrap(),
        404,
    )
    .await;
    assert_problem(
        patch(
            user.id.clone(),
            json!({"role": "superuser"}),
            admin.access.clone(),
        )
        .await
        .unwrap(),
        422,
    )
    .await;
    assert_problem(
        patch(
            user.id.clone(),
            json!({"active": "no"}),
            admin.access.clone(),
        )
        .await
        .unwrap(),
        422,
    )
    .await;
    assert_problem(
        patch(
            admin.id.clone(),
            json!({"role": "requester"}),
            user.access.clone(),
        )
        .await
        .unwrap(),
        403,
    )
    .await;
}

async fn the_last_admin_cannot_demote_themselves(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.user_with_role(Role::Admin).await;
    let resp = app
        .http
        .patch(app.url(&format!("/api/users/{}", admin.id)))
        .bearer_auth(&admin.access)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 409).await;
    let second = app.user_with_role(Role::Admin).await;
    let resp = app
        .http
        .patch(app.url(&format!("/api/users/{}", admin.id)))
        .bearer_auth(&second.access)
        .json(&json!({"role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

async fn staff_can_list_assignees_and_requesters_cannot(backend: Backend) {
    let app = spawn(backend).await;
    let agent = app.user_with_role(Role::Agent).await;
    let admin = app.user_with_role(Role::Admin).await;
    let requester = app.requester().await;
    assert_problem(app.get_auth("/api/agents", &requester.access).await, 403).await;
    let list: Value = app
        .get_auth("/api/agents", &agent.access)
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&agent.id.as_str()) && ids.contains(&admin.id.as_str()));
    assert!(!ids.contains(&requester.id.as_str()));
}

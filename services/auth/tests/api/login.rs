use docket_platform::auth::Role;
use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::{Value, json};

use crate::helpers::spawn;

backend_tests!(
    login_answers_unknown_email_and_wrong_password_alike,
    refresh_rotates_and_a_reused_token_revokes_the_family,
    refresh_accepts_the_cookie_and_logout_revokes_it,
    a_deactivated_user_cannot_sign_in_or_refresh,
);

async fn login_answers_unknown_email_and_wrong_password_alike(backend: Backend) {
    let app = spawn(backend).await;
    let user = app.requester().await;
    let wrong = assert_problem(app.login(&user.email, "wrong-password").await, 401).await;
    let unknown =
        assert_problem(app.login("nobody@example.com", "wrong-password").await, 401).await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    assert_eq!(wrong["type"], unknown["type"]);
    let ok = app.login(&user.email.to_uppercase(), "password123").await;
    assert_eq!(ok.status(), 200);
}

async fn refresh_rotates_and_a_reused_token_revokes_the_family(backend: Backend) {
    let app = spawn(backend).await;
    let user = app.requester().await;
    let first = app
        .post_json("/api/auth/refresh", &json!({"refresh_token": user.refresh}))
        .await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let rotated = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, user.refresh);
    assert_eq!(
        app.get_auth("/api/auth/me", first["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    // The old token again: rejected, and the rotated one dies with it.
    assert_problem(
        app.post_json("/api/auth/refresh", &json!({"refresh_token": user.refresh}))
            .await,
        401,
    )
    .await;
    assert_problem(
        app.post_json("/api/auth/refresh", &json!({"refresh_token": rotated}))
            .await,
        401,
    )
    .await;
    // Unknown and missing tokens.
    assert_problem(
        app.post_json("/api/auth/refresh", &json!({"refresh_token": "nope"}))
            .await,
        401,
    )
    .await;
    let empty = app
        .http
        .post(app.url("/api/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_problem(empty, 401).await;
    // Other sign-ins of the same user are unaffected.
    let other = app
        .login(&user.email, &user.password)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let resp = app
        .post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": other["refresh_token"]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
}

async fn refresh_accepts_the_cookie_and_logout_revokes_it(backend: Backend) {
    let app = spawn(backend).await;
    let user = app.requester().await;
    let cookie = format!("theme=dark; docket_refresh={}", user.refresh);
    let resp = app
        .http
        .post(app.url("/api/auth/refresh"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let rotated = body["refresh_token"].as_str().unwrap().to_owned();
    let access = body["access_token"].as_str().unwrap().to_owned();
    // Logout needs a signed-in caller.
    assert_problem(
        app.http
            .post(app.url("/api/auth/logout"))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    let resp = app
        .http
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&access)
        .header("cookie", format!("docket_refresh={rotated}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(
        resp.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_problem(
        app.post_json("/api/auth/refresh", &json!({"refresh_token": rotated}))
            .await,
        401,
    )
    .await;
}

async fn a_deactivated_user_cannot_sign_in_or_refresh(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.user_with_role(Role::Admin).await;
    let user = app.requester().await;
    let resp = app
        .http
        .patch(app.url(&format!("/api/users/{}", user.id)))
        .bearer_auth(&admin.access)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["active"], false);
    assert_problem(app.login(&user.email, &user.password).await, 403).await;
    assert_problem(app.login(&user.email, "wrong-password").await, 401).await;
    assert_problem(
        app.post_json("/api/auth/refresh", &json!({"refresh_token": user.refresh}))
            .await,
        401,
    )
    .await;
    assert_problem(app.get_auth("/api/auth/me", &user.access).await, 401).await;
}

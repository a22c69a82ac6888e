use docket_platform::auth::Role;
use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::{Value, json};

use crate::helpers::{spawn, spawn_with};

backend_tests!(
    login_answers_unknown_email_and_wrong_password_alike,
    refresh_rotates_and_a_reused_token_revokes_the_family,
    refresh_accepts_the_cookie_and_logout_revokes_it,
    signing_out_after_the_access_token_expired_still_ends_the_session,
    logins_beyond_the_hashing_bound_get_503_with_retry_after,
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
    // Signing out with no session at all is not an error: there is nothing left to end.
    let resp = app
        .http
        .post(app.url("/api/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
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

async fn signing_out_after_the_access_token_expired_still_ends_the_session(backend: Backend) {
    let app = spawn_with(backend, &[("ACCESS_TOKEN_TTL_SECS", "1")]).await;
    let user = app.requester().await;
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_problem(app.get_auth("/api/auth/me", &user.access).await, 401).await;
    let resp = app
        .http
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&user.access)
        .header("cookie", format!("docket_refresh={}", user.refresh))
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
    let resp = app
        .http
        .post(app.url("/api/auth/refresh"))
        .header("cookie", format!("docket_refresh={}", user.refresh))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401).await;
}

async fn logins_beyond_the_hashing_bound_get_503_with_retry_after(backend: Backend) {
    // Room for one hash at a time and no waiting: simultaneous logins find the turn taken.
    let app = spawn_with(
        backend,
        &[
            ("PASSWORD_HASH_MEMORY_MIB", "19"),
            ("PASSWORD_HASH_WAIT_MS", "0"),
        ],
    )
    .await;
    let attempts = (0..16).map(|i| {
        let app = &app;
        async move {
            app.login(&format!("nobody{i}@example.com"), "wrong-password")
                .await
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let mut refused = 0;
    for resp in answers {
        match resp.status().as_u16() {
            401 => {}
            503 => {
                assert_eq!(resp.headers()["retry-after"], "1");
                refused += 1;
                assert_problem(resp, 503).await;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(
        refused > 0,
        "some logins must be refused while the turn is taken"
    );
    // Once the burst is over, a login is checked as usual.
    assert_problem(app.login("nobody@example.com", "wrong-password").await, 401).await;
}

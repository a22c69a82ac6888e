use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::{Value, json};

use crate::helpers::spawn;

backend_tests!(
    register_returns_the_user_tokens_and_a_strict_cookie,
    register_stores_emails_trimmed_and_lowercased_and_refuses_duplicates,
    register_rejects_invalid_emails_and_weak_or_huge_passwords,
    register_answers_malformed_json_and_wrong_types_with_problems,
);

async fn register_returns_the_user_tokens_and_a_strict_cookie(backend: Backend) {
    let app = spawn(backend).await;
    let resp = app.register("ada@example.com", "password123").await;
    assert_eq!(resp.status(), 201);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(body["user"]["role"], "requester");
    assert_eq!(body["user"]["active"], true);
    assert!(body["user"].get("password_hash").is_none());
    let refresh = body["refresh_token"].as_str().unwrap();
    assert!(
        cookie.starts_with(&format!("docket_refresh={refresh};")),
        "{cookie}"
    );
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/auth"] {
        assert!(cookie.contains(attr), "cookie lacks {attr}: {cookie}");
    }
    let me: Value = app
        .get_auth("/api/auth/me", body["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], body["user"]["id"]);
}

async fn register_stores_emails_trimmed_and_lowercased_and_refuses_duplicates(backend: Backend) {
    let app = spawn(backend).await;
    let resp = app
        .register("  Grace.Hopper@Example.COM ", "password123")
        .await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"]["email"], "grace.hopper@example.com");
    assert_problem(
        app.register("grace.hopper@example.com", "another-password")
            .await,
        409,
    )
    .await;
    assert_problem(
        app.register("GRACE.HOPPER@example.com", "another-password")
            .await,
        409,
    )
    .await;
    assert_eq!(
        app.login("Grace.Hopper@example.com", "password123")
            .await
            .status(),
        200
    );
}

async fn register_rejects_invalid_emails_and_weak_or_huge_passwords(backend: Backend) {
    let app = spawn(backend).await;
    for email in ["not-an-email", "", "a@b", "two@@example.com"] {
        assert_problem(app.register(email, "password123").await, 422).await;
    }
    assert_problem(app.register("short@example.com", "1234567").await, 422).await;
    assert_problem(
        app.register("huge@example.com", &"x".repeat(257)).await,
        422,
    )
    .await;
    assert_eq!(
        app.register("exact@example.com", &"x".repeat(256))
            .await
            .status(),
        201
    );
    let resp = app
        .post_json(
            "/api/auth/register",
            &json!({"email": "n@example.com", "password": "password123", "name": "  "}),
        )
        .await;
    assert_problem(resp, 422).await;
}

async fn register_answers_malformed_json_and_wrong_types_with_problems(backend: Backend) {
    let app = spawn(backend).await;
    let send = |body: &'static str| {
        app.http
            .post(app.url("/api/auth/register"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_problem(send("{\"email\": ").await.unwrap(), 400).await;
    // Wrong JSON types are 422s naming each field, never coerced (a number is no name).
    let cases: &[(&'static str, &[&str])] = &[
        (
            "{\"email\": \"w@example.com\", \"password\": \"password123\", \"name\": {\"first\": 1}}",
            &["name"],
        ),
        (
            "{\"email\": 1, \"password\": true, \"name\": 123}",
            &["email", "password", "name"],
        ),
        (
            "{\"email\": null, \"password\": [], \"name\": \"Ann\"}",
            &["email", "password"],
        ),
        ("{\"password\": \"password123\"}", &["email", "name"]),
        ("[]", &["body"]),
        (
            "{\"email\": \"\", \"password\": \"short\", \"name\": \"  \"}",
            &["email", "password", "name"],
        ),
    ];
    for (body, fields) in cases {
        let problem = assert_problem(send(body).await.unwrap(), 422).await;
        let named: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors in {problem}"))
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(&named, fields, "{body}: {problem}");
        assert!(problem["errors"][0]["message"].is_string(), "{problem}");
    }
    let resp = app
        .http
        .post(app.url("/api/auth/register"))
        .body("email=x")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415).await;
    // Nothing was stored by any of them.
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

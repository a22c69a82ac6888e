//! The contract as the OpenAPI document states it: a JSON value of the wrong type in any body
//! field is a 422 naming each such field (never coerced), refresh and sign-out read their
//! optional body as strictly as the others, and 405s carry `Allow`.

use docket_platform::auth::Role;
use docket_testkit::{
    Backend, assert_405_with_allow, assert_problem, backend_tests, problem_fields,
};
use serde_json::{Value, json};

use crate::helpers::spawn;

backend_tests!(
    wrong_json_types_are_422s_naming_each_field_on_every_body,
    refresh_and_sign_out_take_no_body_or_a_well_typed_one,
    a_405_lists_the_routes_methods_in_allow,
);

async fn wrong_json_types_are_422s_naming_each_field_on_every_body(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.user_with_role(Role::Admin).await;
    let target = app.requester().await;
    let user_path = format!("/api/users/{}", target.id);
    let good = json!({"email": "new@example.com", "password": "password123", "name": "New"});
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    // (path, body, the fields the 422 must name)
    let cases: Vec<(&str, Value, &[&str])> = vec![
        ("/api/auth/register", with("email", json!(5)), &["email"]),
        (
            "/api/auth/register",
            with("password", json!(12345678)),
            &["password"],
        ),
        ("/api/auth/register", with("name", json!(123)), &["name"]),
        ("/api/auth/register", with("name", json!(null)), &["name"]),
        (
            "/api/auth/register",
            json!({"email": ["a@example.com"], "password": true, "name": {"first": "A"}}),
            &["email", "password", "name"],
        ),
        (
            "/api/auth/register",
            json!({"email": "a@example.com"}),
            &["password", "name"],
        ),
        ("/api/auth/register", json!([good]), &["body"]),
        ("/api/auth/register", json!("a string"), &["body"]),
        (
            "/api/auth/login",
            json!({"email": 1, "password": "password123"}),
            &["email"],
        ),
        (
            "/api/auth/login",
            json!({"email": "a@example.com", "password": false}),
            &["password"],
        ),
        ("/api/auth/login", json!({}), &["email", "password"]),
        ("/api/auth/login", json!(null), &["body"]),
        (
            "/api/auth/refresh",
            json!({"refresh_token": 5}),
            &["refresh_token"],
        ),
        ("/api/auth/refresh", json!([]), &["body"]),
        (
            "/api/auth/logout",
            json!({"refresh_token": false}),
            &["refresh_token"],
        ),
    ];
    for (path, body, want) in cases {
        let problem = assert_problem(app.post_json(path, &body).await, 422).await;
        assert_eq!(problem_fields(&problem), want, "{path} {body}: {problem}");
        assert!(!problem["detail"].as_str().unwrap().is_empty());
    }
    // The admin's PATCH: role is an enum, active a boolean.
    let patches: Vec<(Value, &[&str])> = vec![
        (json!({"role": "boss"}), &["role"]),
        (json!({"role": 1}), &["role"]),
        (json!({"active": "false"}), &["active"]),
        (json!({"active": 0, "role": ["admin"]}), &["role", "active"]),
        (json!([]), &["body"]),
    ];
    for (body, want) in patches {
        let resp = app
            .http
            .patch(app.url(&user_path))
            .bearer_auth(&admin.access)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(resp, 422).await;
        assert_eq!(problem_fields(&problem), want, "PATCH {body}: {problem}");
    }
    // Nothing was registered, signed in or changed by any of them.
    let login = app.login("new@example.com", "password123").await;
    assert_problem(login, 401).await;
    let users: Value = app
        .get_auth("/api/users?limit=100", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let changed = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == target.id.as_str())
        .unwrap();
    assert_eq!(changed["role"], "requester");
    assert_eq!(changed["active"], true);
}

async fn refresh_and_sign_out_take_no_body_or_a_well_typed_one(backend: Backend) {
    let app = spawn(backend).await;
    let user = app.requester().await;
    let post = |path: &'static str| app.http.post(app.url(path));
    // No body at all (the web app's way, with the cookie): no token, 401; sign-out still 204.
    assert_problem(post("/api/auth/refresh").send().await.unwrap(), 401).await;
    assert_eq!(post("/api/auth/logout").send().await.unwrap().status(), 204);
    // A body that is not JSON is 415, one that does not parse 400.
    let text = post("/api/auth/refresh")
        .header("content-type", "text/plain")
        .body(user.refresh.clone())
        .send()
        .await
        .unwrap();
    assert_problem(text, 415).await;
    let broken = post("/api/auth/refresh")
        .header("content-type", "application/json")
        .body("{\"refresh_token\":")
        .send()
        .await
        .unwrap();
    assert_problem(broken, 400).await;
    // Whitespace is a body, and not JSON: 400, and sign-out does nothing.
    for path in ["/api/auth/refresh", "/api/auth/logout"] {
        let blank = post(path)
            .header("content-type", "application/json")
            .body(" ")
            .send()
            .await
            .unwrap();
        assert_problem(blank, 400).await;
    }
    // The token may be left out (no token: 401) but is not nullable, as the document says.
    let absent = app.post_json("/api/auth/refresh", &json!({})).await;
    assert_problem(absent, 401).await;
    let null = app
        .post_json("/api/auth/refresh", &json!({"refresh_token": null}))
        .await;
    let problem = assert_problem(null, 422).await;
    assert_eq!(problem_fields(&problem), ["refresh_token"]);
    // A well-typed one works.
    let ok = app
        .post_json("/api/auth/refresh", &json!({"refresh_token": user.refresh}))
        .await;
    assert_eq!(ok.status(), 200);
}

async fn a_405_lists_the_routes_methods_in_allow(backend: Backend) {
    let app = spawn(backend).await;
    let cases = [
        ("/api/auth/login", "POST"),
        ("/api/auth/me", "GET, HEAD"),
        ("/api/users/0190a0b4-7c44-7d2a-9e55-3d1f2c3b4a59", "PATCH"),
        ("/health/ready", "GET, HEAD"),
    ];
    for (path, allow) in cases {
        assert_405_with_allow(app.http.put(app.url(path)), allow).await;
    }
}

//! The contract as the OpenAPI document states it: wrong JSON types are 422s naming each field
//! (never coerced), `Allow` on 405, nullable `next_cursor`, malformed path ids are 404.

use docket_platform::auth::Role;
use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::{Value, json};

use crate::helpers::spawn;

backend_tests!(
    wrong_json_types_are_422s_naming_each_field_on_every_body,
    a_405_lists_the_routes_methods_in_allow,
    a_malformed_path_id_is_a_404_and_an_out_of_range_limit_a_422,
);

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {problem}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

async fn wrong_json_types_are_422s_naming_each_field_on_every_body(backend: Backend) {
    let app = spawn(backend).await;
    let agent = app.user_with_role(Role::Agent).await;
    let t = app.ticket(&agent, "Typed").await;
    let id = t["id"].as_str().unwrap();
    let tickets = "/api/tickets".to_owned();
    let one = format!("/api/tickets/{id}");
    let comments = format!("/api/tickets/{id}/comments");
    // (method, path, body, the fields the 422 must name)
    let cases: Vec<(&str, &str, Value, &[&str])> = vec![
        (
            "post",
            &tickets,
            json!({"subject": 123, "description": "x"}),
            &["subject"],
        ),
        ("post", &tickets, json!({"subject": true}), &["subject"]),
        (
            "post",
            &tickets,
            json!({"subject": "ok", "description": 5, "priority": "huge"}),
            &["description", "priority"],
        ),
        ("post", &tickets, json!({"subject": ""}), &["subject"]),
        ("post", &tickets, json!({"subject": "   "}), &["subject"]),
        (
            "post",
            &tickets,
            json!({"subject": "x".repeat(201)}),
            &["subject"],
        ),
        (
            "post",
            &tickets,
            json!({"description": "no subject"}),
            &["subject"],
        ),
        ("post", &tickets, json!([]), &["body"]),
        ("patch", &one, json!({"version": "1"}), &["version"]),
        ("patch", &one, json!({"version": 1.5}), &["version"]),
        (
            "patch",
            &one,
            json!({"version": 1, "subject": 7, "status": 1, "assignee_id": "nope"}),
            &["subject", "status", "assignee_id"],
        ),
        (
            "patch",
            &one,
            json!({"version": 1, "subject": null}),
            &["subject"],
        ),
        ("post", &comments, json!({"body": 42}), &["body"]),
        (
            "post",
            &comments,
            json!({"body": "hi", "internal": "yes"}),
            &["internal"],
        ),
    ];
    for (method, path, body, want) in cases {
        let resp = match method {
            "post" => app.post(path, &agent, &body).await,
            _ => app.patch(path, &agent, None, &body).await,
        };
        let problem = assert_problem(resp, 422).await;
        assert_eq!(fields(&problem), want, "{method} {path} {body}: {problem}");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(!problem["detail"].as_str().unwrap().is_empty());
    }
    // Nothing was created or changed by any of them.
    let page = app.json("/api/tickets", &agent).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["version"], 1);
    // The last page says so with an explicit null.
    assert!(page["next_cursor"].is_null());
    assert!(page.as_object().unwrap().contains_key("next_cursor"));
}

async fn a_405_lists_the_routes_methods_in_allow(backend: Backend) {
    let app = spawn(backend).await;
    let agent = app.user_with_role(Role::Agent).await;
    let cases = [
        ("/api/tickets", "GET, POST, HEAD"),
        (
            "/api/tickets/0190a0b4-7c44-7d2a-9e55-3d1f2c3b4a59",
            "DELETE, GET, PATCH, HEAD",
        ),
        ("/health/live", "GET, HEAD"),
    ];
    for (path, allow) in cases {
        let resp = app
            .http
            .put(app.url(path))
            .bearer_auth(&agent.token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{path}"
        );
        assert_problem(resp, 405).await;
    }
}

async fn a_malformed_path_id_is_a_404_and_an_out_of_range_limit_a_422(backend: Backend) {
    let app = spawn(backend).await;
    let user = app.requester().await;
    for path in ["/api/tickets/not-a-uuid", "/api/tickets/123/comments"] {
        assert_problem(app.get(path, &user).await, 404).await;
    }
    for limit in ["0", "101", "-9223372036854775808", "abc"] {
        let problem = assert_problem(
            app.get(&format!("/api/tickets?limit={limit}"), &user).await,
            422,
        )
        .await;
        assert_eq!(fields(&problem), ["limit"], "{problem}");
    }
    let problem = assert_problem(app.get("/api/tickets?cursor=zzz", &user).await, 422).await;
    assert_eq!(fields(&problem), ["cursor"], "{problem}");
}

//! The contract as the OpenAPI document states it: wrong JSON types are 422s naming each field
//! (never coerced), `Allow` on 405, nullable `next_cursor`, malformed path ids are 404, an
//! `If-Match` outside its documented pattern is a 422, and the rules no schema can state (an
//! assignee must be active staff) are 422s naming the field.

use docket_platform::auth::Role;
use docket_testkit::{
    Backend, assert_405_with_allow, assert_problem, backend_tests, problem_fields,
};
use serde_json::{Value, json};

use crate::helpers::spawn;

backend_tests!(
    wrong_json_types_are_422s_naming_each_field_on_every_body,
    a_405_lists_the_routes_methods_in_allow,
    a_malformed_path_id_is_a_404_and_an_out_of_range_limit_a_422,
    a_malformed_if_match_is_a_422_once_the_ticket_is_visible,
    an_assignee_who_is_not_active_staff_is_a_422_naming_assignee_id,
);

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
        assert_eq!(
            problem_fields(&problem),
            want,
            "{method} {path} {body}: {problem}"
        );
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
        assert_405_with_allow(app.http.put(app.url(path)).bearer_auth(&agent.token), allow).await;
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
        assert_eq!(problem_fields(&problem), ["limit"], "{problem}");
    }
    let problem = assert_problem(app.get("/api/tickets?cursor=zzz", &user).await, 422).await;
    assert_eq!(problem_fields(&problem), ["cursor"], "{problem}");
}

async fn a_malformed_if_match_is_a_422_once_the_ticket_is_visible(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let stranger = app.requester().await;
    let t = app.ticket(&owner, "Versioned").await;
    let path = format!("/api/tickets/{}", t["id"].as_str().unwrap());
    let change = json!({"subject": "Renamed"});
    for raw in [
        "",
        "abc",
        "*",
        "\"1",
        "1.0",
        "-1",
        "{}",
        "99999999999999999999",
    ] {
        let problem = assert_problem(app.patch(&path, &owner, Some(raw), &change).await, 422).await;
        assert_eq!(problem_fields(&problem), ["If-Match"], "{raw:?}: {problem}");
        // A ticket the caller may not see is 404 before anything is checked.
        assert_problem(app.patch(&path, &stranger, Some(raw), &change).await, 404).await;
    }
    // Every spelling the pattern allows is read as the version.
    for (raw, version) in [("1", 1), ("\"2\"", 2), ("W/\"3\"", 3), ("W/4", 4)] {
        let change = json!({"subject": format!("Renamed {version}")});
        let resp = app.patch(&path, &owner, Some(raw), &change).await;
        assert_eq!(resp.status(), 200, "{raw}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["version"], version + 1, "{raw}");
    }
    assert_problem(app.patch(&path, &owner, Some("1"), &change).await, 412).await;
}

async fn an_assignee_who_is_not_active_staff_is_a_422_naming_assignee_id(backend: Backend) {
    let app = spawn(backend).await;
    let agent = app.user_with_role(Role::Agent).await;
    let requester = app.requester().await;
    let t = app.ticket(&agent, "Who takes it").await;
    let path = format!("/api/tickets/{}", t["id"].as_str().unwrap());
    let unknown = uuid::Uuid::new_v4().to_string();
    for assignee in [unknown.as_str(), requester.id.as_str()] {
        let problem = assert_problem(
            app.patch(&path, &agent, Some("1"), &json!({"assignee_id": assignee}))
                .await,
            422,
        )
        .await;
        assert_eq!(problem_fields(&problem), ["assignee_id"], "{problem}");
    }
    let resp = app
        .patch(&path, &agent, Some("1"), &json!({"assignee_id": agent.id}))
        .await;
    assert_eq!(resp.status(), 200);
}

//! The committed document must match the code (regenerate with
//! `cargo run -q -p docket-tickets -- openapi > openapi/tickets.json`).

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = docket_tickets::api::openapi().spec();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/tickets.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim() == generated.trim(),
        "openapi/tickets.json is stale: regenerate it and commit the result"
    );
}

#[test]
fn internal_routes_are_not_in_the_document() {
    let spec = docket_tickets::api::openapi().spec();
    assert!(!spec.contains("/internal"));
    assert!(spec.contains("/api/tickets/{id}/events"));
}

/// What the document promises about a page and the problem body.
#[test]
fn pages_have_a_nullable_next_cursor_and_problems_list_their_field_errors() {
    let spec: serde_json::Value =
        serde_json::from_str(&docket_tickets::api::openapi().spec()).unwrap();
    let schemas = &spec["components"]["schemas"];
    for page in ["TicketPage", "CommentPage", "EventPage"] {
        assert_eq!(
            schemas[page]["properties"]["next_cursor"]["nullable"], true,
            "{page}"
        );
    }
    assert!(schemas["Problem"]["properties"]["errors"].is_object());
    assert_eq!(
        schemas["NewTicketBody"]["properties"]["subject"]["maxLength"],
        200
    );
    let limit = &spec["paths"]["/api/tickets"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()["schema"];
    assert_eq!(
        (limit["minimum"].as_f64(), limit["maximum"].as_f64()),
        (Some(1.0), Some(100.0))
    );
    let id = &spec["paths"]["/api/tickets/{id}"]["get"]["parameters"][0]["schema"];
    assert_eq!(id["format"], "uuid");
}

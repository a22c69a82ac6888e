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

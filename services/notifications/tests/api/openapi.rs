//! The committed document must match the code (regenerate with `scripts/gen-openapi`).

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = docket_notifications::api::openapi().spec();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/notifications.json"
    );
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim() == generated.trim(),
        "openapi/notifications.json is stale: run scripts/gen-openapi and commit the result"
    );
}

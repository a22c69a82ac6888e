//! The committed document must match the code (regenerate with
//! `scripts/gen-openapi`).

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = docket_attachments::api::openapi().spec();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/attachments.json"
    );
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim() == generated.trim(),
        "openapi/attachments.json is stale: run scripts/gen-openapi and commit the result"
    );
}

#[test]
fn the_upload_is_documented_as_multipart_with_up_to_five_files() {
    let spec: serde_json::Value =
        serde_json::from_str(&docket_attachments::api::openapi().spec()).unwrap();
    let body = &spec["paths"]["/api/tickets/{id}/attachments"]["post"]["requestBody"];
    let schema = &body["content"]["multipart/form-data"]["schema"];
    assert_eq!(schema["properties"]["file"]["type"], "array");
    assert_eq!(schema["properties"]["file"]["maxItems"], 5);
    assert_eq!(schema["properties"]["file"]["items"]["format"], "binary");
    let download = &spec["paths"]["/api/attachments/{id}/download"]["get"]["responses"];
    assert!(download["302"]["headers"]["Location"].is_object());
}

#[test]
fn the_upload_policy_is_documented_with_its_schema_and_the_bearer_scheme() {
    let spec: serde_json::Value =
        serde_json::from_str(&docket_attachments::api::openapi().spec()).unwrap();
    let get = &spec["paths"]["/api/attachments/policy"]["get"];
    assert!(get["security"][0]["BearerAuth"].is_array(), "{get}");
    let schema = &get["responses"]["200"]["content"]["application/json; charset=utf-8"]["schema"];
    assert_eq!(schema["$ref"], "#/components/schemas/UploadPolicy");
    let policy = &spec["components"]["schemas"]["UploadPolicy"]["properties"];
    for field in ["max_file_bytes", "max_files", "types"] {
        assert!(policy[field].is_object(), "{field}");
    }
}

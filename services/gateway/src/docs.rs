//! `/docs`: one Swagger UI over the three services' documents, with a selector between them.
//! The documents themselves are fetched from each service (`/openapi/{name}.json`), so what
//! the page shows is what the running code serves.

use poem_openapi::{OpenApi, OpenApiService};

pub const DOCUMENTS: &[&str] = &["auth", "tickets", "attachments"];

struct Empty;

#[OpenApi]
impl Empty {}

/// The Swagger UI page, with `urls` in place of a single embedded document.
pub fn swagger_html() -> String {
    let html = OpenApiService::new(Empty, "Docket", "").swagger_ui_html();
    let urls: Vec<String> = DOCUMENTS
        .iter()
        .map(|name| format!("{{url: '/openapi/{name}.json', name: '{name}'}}"))
        .collect();
    html.replace(
        "spec: spec,",
        &format!("urls: [{}], 'urls.primaryName': 'auth',", urls.join(", ")),
    )
    .replace("<title>Swagger UI</title>", "<title>Docket API</title>")
}

//! `/docs`: one Swagger UI over the three services' documents, with a selector between them.
//!
//! The page itself is static: the web app's build writes Swagger UI (the pinned
//! `swagger-ui-dist` package, its standalone layout and a small initializer script) to
//! `<web_dir>/docs/`, so it runs under the same CSP as the app (no inline script). What the
//! page offers comes from here, `/docs/swagger-config.json`: the gateway is what knows which
//! documents it forwards (`/openapi/{name}.json`, fetched from each service), so what the page
//! shows is what the running code serves.

use std::path::Path;

use poem::{
    Route,
    endpoint::{StaticFilesEndpoint, make_sync},
    get,
    web::{Html, Json},
};
use serde_json::{Value, json};

pub const DOCUMENTS: &[&str] = &["auth", "tickets", "attachments", "notifications"];

/// Swagger UI's `configUrl` answer: the documents for its selector, the first one shown.
pub fn swagger_config() -> Value {
    let urls: Vec<Value> = DOCUMENTS
        .iter()
        .map(|name| json!({ "url": format!("/openapi/{name}.json"), "name": name }))
        .collect();
    json!({ "urls": urls, "urls.primaryName": DOCUMENTS[0] })
}

/// When the web app has not been built there is no Swagger UI to serve; the documents are
/// still there, so the page links them.
fn not_built_html() -> String {
    let links: String = DOCUMENTS
        .iter()
        .map(|name| format!("<li><a href=\"/openapi/{name}.json\">/openapi/{name}.json</a></li>"))
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Docket API</title></head>\
<body><h1>Docket API</h1><p>The API explorer is part of the web app's build, which has not been made: \
run <code>npm ci &amp;&amp; npm run build</code> in <code>frontend/</code>, or use the README's run command. \
The OpenAPI documents:</p><ul>{links}</ul></body></html>"
    )
}

/// The routes under `/docs`: the built Swagger UI from `<web_dir>/docs/` and its config.
pub fn routes(web_dir: &Path) -> Route {
    let route = Route::new().at(
        "/swagger-config.json",
        make_sync(|_| Json(swagger_config())),
    );
    let dir = web_dir.join("docs");
    if dir.join("index.html").is_file() {
        route.nest("/", StaticFilesEndpoint::new(dir).index_file("index.html"))
    } else {
        tracing::warn!(docs_dir = %dir.display(), "Swagger UI not built; /docs links the documents instead");
        let html = not_built_html();
        route.at("/", get(make_sync(move |_| Html(html.clone()))))
    }
}

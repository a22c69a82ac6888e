//! Building and running the service: settings in, a bound listener and a route table out.

use std::sync::Arc;

use docket_platform::{
    auth::TokenVerifier,
    db::{Db, DbCheck, Migrations},
    health::Health,
    metrics::Metrics,
    middleware::{AllowMethods, CloseIfBodyUnread, RequestContext},
    server,
};
use poem::{Endpoint, EndpointExt, Route, endpoint::make_sync, web::Json};

use crate::{
    Settings,
    api::{self, AppState, UploadMetrics},
    clients::TicketsClient,
    storage::{self, StorageCheck},
};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// The attachments service, bound and ready to run.
pub type Application = server::Application<AppState>;

impl server::Service for AppState {
    const NAME: &'static str = "attachments service";
    type Settings = Settings;

    async fn build(settings: Settings) -> anyhow::Result<Self> {
        let state = state(settings).await?;
        crate::sweep::spawn_scheduled(&state);
        Ok(state)
    }

    fn common(&self) -> &docket_platform::config::CommonSettings {
        &self.settings.common
    }

    fn routes(self) -> poem::endpoint::BoxEndpoint<'static, poem::Response> {
        routes(self).map_to_response().boxed()
    }
}

/// Container structure checks at once (one per core of a small task).
const INSPECTIONS_AT_ONCE: usize = 2;

/// Everything the handlers need, from settings.
pub async fn state(settings: Settings) -> anyhow::Result<AppState> {
    let db = Db::open_with(
        settings.database_url.expose(),
        MIGRATIONS,
        settings.db.max_connections,
        settings.db.schema,
    )
    .await?;
    tokio::fs::create_dir_all(settings.upload_dir.join("tmp")).await?;
    let storage = storage::from_settings(&settings).await?;
    tracing::info!(storage = storage.kind(), "attachment storage ready");
    let metrics = Metrics::new("attachments").with_db(&db);
    let uploads = UploadMetrics::new(&metrics);
    Ok(AppState {
        db,
        storage,
        metrics,
        uploads,
        tickets: TicketsClient::new(&settings.tickets_url),
        settings: Arc::new(settings),
        inspections: Arc::new(tokio::sync::Semaphore::new(INSPECTIONS_AT_ONCE)),
    })
}

/// The route table. No body limit here: the upload route bounds its own body (see
/// [`crate::api::upload_body`]), and no other route takes a body. An upload refused before
/// its body is read is answered with `Connection: close`.
pub fn routes(state: AppState) -> impl Endpoint {
    let api = api::openapi();
    let spec = api.spec();
    let spec_json: serde_json::Value = serde_json::from_str(&spec).unwrap_or_default();
    let allow = AllowMethods::from_spec(&spec_json)
        .with("/health", &["get"])
        .with("/health/*", &["get"]);
    // Swagger UI over this service's own document (the public one, over all three, is the
    // gateway's /docs).
    let docs = api.swagger_ui();
    let health = Health::new("attachments")
        .with_check(DbCheck(state.db.clone()))
        .with_check(StorageCheck(state.storage.clone()))
        .disk_path(state.settings.upload_dir.clone());
    let verifier = TokenVerifier::remote(&state.settings.auth_url, state.settings.jwt_leeway_secs);
    let metrics = state.metrics.clone();
    Route::new()
        .nest("/", api)
        .nest("/docs", docs)
        .nest("/health", health.routes())
        .nest("/internal", api::internal::routes())
        .at(
            "/openapi/attachments.json",
            make_sync(move |_| Json(spec_json.clone())),
        )
        // GET /metrics on this service's own port (the gateway never forwards it).
        .at("/metrics", metrics.endpoint())
        .data(state)
        .data(verifier)
        .with(allow)
        .with(CloseIfBodyUnread)
        .with(RequestContext)
        .with(metrics.layer())
}

//! Building and running the service: settings in, a bound listener and a route table out.

use std::sync::Arc;

use docket_platform::{
    db::{Db, DbCheck, Migrations},
    health::Health,
    metrics::Metrics,
    middleware::{AllowMethods, BodyLimit, RequestContext},
    server,
};
use poem::{Endpoint, EndpointExt, Route, endpoint::make_sync, web::Json};

use crate::{
    Settings,
    api::{self, AppState},
    domain::PasswordHasher,
    keys::SigningKeys,
};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// The auth service, bound and ready to run.
pub type Application = server::Application<AppState>;

impl server::Service for AppState {
    const NAME: &'static str = "auth service";
    type Settings = Settings;

    async fn build(settings: Settings) -> anyhow::Result<Self> {
        state(settings).await
    }

    fn common(&self) -> &docket_platform::config::CommonSettings {
        &self.settings.common
    }

    fn routes(self) -> poem::endpoint::BoxEndpoint<'static, poem::Response> {
        routes(self).map_to_response().boxed()
    }
}

/// Everything the handlers need, from settings.
pub async fn state(settings: Settings) -> anyhow::Result<AppState> {
    let db = Db::open_with(
        settings.database_url.expose(),
        MIGRATIONS,
        settings.db.max_connections,
        settings.db.schema,
    )
    .await?;
    let keys = match (&settings.jwt_private_key, &settings.jwt_key_seed) {
        (Some(pem), _) => SigningKeys::from_pem(pem.expose())?,
        (None, Some(seed)) => SigningKeys::from_seed(seed.expose())?,
        (None, None) => SigningKeys::load_or_generate(&settings.data_dir)?,
    };
    let limits = settings.hash_limits;
    let hasher = tokio::task::spawn_blocking(move || PasswordHasher::new(limits)).await??;
    Ok(AppState {
        db,
        keys: Arc::new(keys),
        hasher,
        settings: Arc::new(settings),
    })
}

/// The route table.
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
    let health = Health::new("auth")
        .with_check(DbCheck(state.db.clone()))
        .disk_path(state.settings.data_dir.clone());
    let verifier = state.keys.verifier(state.settings.jwt_leeway_secs);
    let max_json = state.settings.common.max_json_bytes;
    // GET /metrics on this service's own port (the gateway never forwards it).
    let metrics = Metrics::new("auth").with_db(&state.db);
    Route::new()
        .nest("/", api)
        .nest("/docs", docs)
        .nest("/health", health.routes())
        .nest("/internal", api::internal::routes())
        .at(
            "/openapi/auth.json",
            make_sync(move |_| Json(spec_json.clone())),
        )
        .at("/metrics", metrics.endpoint())
        .data(state)
        .data(verifier)
        .with(BodyLimit { max: max_json })
        .with(allow)
        .with(RequestContext)
        .with(metrics.layer())
}

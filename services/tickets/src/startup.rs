//! Building and running the service: settings in, a bound listener and a route table out.

use std::{sync::Arc, time::Duration};

use docket_platform::{
    auth::TokenVerifier,
    client::ServiceClient,
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
    clients::{attachments::AttachmentsClient, auth::AuthClient},
    repo::search_index,
};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// The tickets service, bound and ready to run.
pub type Application = server::Application<AppState>;

impl server::Service for AppState {
    const NAME: &'static str = "tickets service";
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

/// Opens the database of `settings` with at most `max_connections`, the schema applied or
/// checked as `MIGRATE_ON_START` says; on SQLite with the search index's file attached (see
/// `repo::search_index`), whose files come back too.
pub async fn open_db(
    settings: &Settings,
    max_connections: u32,
) -> anyhow::Result<(Db, Option<search_index::Files>)> {
    let url = settings.database_url.expose();
    let files = url
        .starts_with("sqlite:")
        .then(|| search_index::Files::for_url(url))
        .transpose()?;
    let attach: Vec<_> = files
        .iter()
        .map(|files| (search_index::SCHEMA, files.index.as_str()))
        .collect();
    let db = Db::open_attaching(
        url,
        MIGRATIONS,
        max_connections,
        &attach,
        settings.db.schema,
    )
    .await?;
    Ok((db, files))
}

/// Everything the handlers need, from settings.
pub async fn state(settings: Settings) -> anyhow::Result<AppState> {
    let (db, files) = open_db(&settings, settings.db.max_connections).await?;
    let search = match &files {
        Some(files) => Some(search_index::start(&db, files).await?),
        None => None,
    };
    let connect = Duration::from_secs(2);
    let total = settings.service_timeout;
    Ok(AppState {
        db,
        search,
        auth: AuthClient(ServiceClient::new(
            "auth",
            &settings.auth_url,
            connect,
            total,
        )),
        attachments: AttachmentsClient(ServiceClient::new(
            "attachments",
            &settings.attachments_url,
            connect,
            total,
        )),
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
    let mut health = Health::new("tickets").with_check(DbCheck(state.db.clone()));
    if let Some(index) = &state.search {
        health = health.with_check(index.clone());
    }
    let verifier = TokenVerifier::remote(&state.settings.auth_url, state.settings.jwt_leeway_secs);
    let max_json = state.settings.common.max_json_bytes;
    // GET /metrics on this service's own port (the gateway never forwards it).
    let metrics = Metrics::new("tickets").with_db(&state.db);
    Route::new()
        .nest("/", api)
        .nest("/docs", docs)
        .nest("/health", health.routes())
        .nest("/internal", api::internal::routes())
        .at(
            "/openapi/tickets.json",
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

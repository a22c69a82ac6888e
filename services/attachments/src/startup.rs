//! Building and running the service: settings in, a bound listener and a route table out.

use std::sync::Arc;

use docket_platform::{
    auth::TokenVerifier,
    db::{Db, DbCheck, Migrations},
    health::Health,
    middleware::RequestContext,
    server,
};
use poem::{Endpoint, EndpointExt, Route, endpoint::make_sync, web::Json};
use tokio::net::TcpListener;

use crate::{
    Settings,
    api::{self, AppState},
    clients::TicketsClient,
    storage::{self, StorageCheck},
};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
}

impl Application {
    /// Connects to the database (applying migrations), opens storage and binds.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let state = state(settings).await?;
        let listener =
            server::bind(&state.settings.common.host, state.settings.common.port).await?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            listener,
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(server::shutdown_signal()).await
    }

    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let drain = self.state.settings.common.shutdown_drain;
        tracing::info!(
            port = self.port,
            storage = self.state.storage.kind(),
            "attachments service listening"
        );
        server::serve(self.listener, routes(self.state), signal, drain).await
    }
}

/// Everything the handlers need, from settings.
pub async fn state(settings: Settings) -> anyhow::Result<AppState> {
    let db = Db::connect(settings.database_url.expose(), MIGRATIONS, 10).await?;
    tokio::fs::create_dir_all(settings.upload_dir.join("tmp")).await?;
    let storage = storage::from_settings(&settings).await?;
    Ok(AppState {
        db,
        storage,
        tickets: TicketsClient::new(&settings.tickets_url),
        settings: Arc::new(settings),
    })
}

/// The route table. No body limit here: the upload route enforces its own per-file limit
/// while streaming, and no other route takes a body.
pub fn routes(state: AppState) -> impl Endpoint {
    let api = api::openapi();
    let spec = api.spec();
    let spec_json: serde_json::Value = serde_json::from_str(&spec).unwrap_or_default();
    let health = Health::new("attachments")
        .with_check(DbCheck(state.db.clone()))
        .with_check(StorageCheck(state.storage.clone()))
        .disk_path(state.settings.upload_dir.clone());
    let verifier = TokenVerifier::remote(&state.settings.auth_url, state.settings.jwt_leeway_secs);
    Route::new()
        .nest("/", api)
        .nest("/health", health.routes())
        .nest("/internal", api::internal::routes())
        .at(
            "/openapi/attachments.json",
            make_sync(move |_| Json(spec_json.clone())),
        )
        .data(state)
        .data(verifier)
        .with(RequestContext)
}

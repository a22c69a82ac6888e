//! Building and running the service: settings in; the follower, the delivery worker, and a
//! bound listener with the route table out.

use std::sync::Arc;

use docket_platform::{
    auth::TokenVerifier,
    db::{Db, DbCheck, Migrations},
    health::Health,
    middleware::{AllowMethods, RequestContext},
    server,
};
use poem::{Endpoint, EndpointExt, Route, endpoint::make_sync, web::Json};

use crate::{
    Settings,
    api::{self, AppState},
    clients::Clients,
    deliver::{self, Mailer},
    domain::token::Signer,
    follow,
};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// The notifications service, bound and ready to run.
pub type Application = server::Application<AppState>;

impl server::Service for AppState {
    const NAME: &'static str = "notifications service";
    type Settings = Settings;

    async fn build(settings: Settings) -> anyhow::Result<Self> {
        let mailer = Mailer::from_backend(&settings.email_backend, settings.send_timeout)?;
        let state = state(settings).await?;
        tracing::info!(
            backend = state.settings.email_backend.name(),
            "mail backend ready"
        );
        tokio::spawn(follow::run(state.clone()));
        tokio::spawn(deliver::run(state.clone(), mailer));
        Ok(state)
    }

    fn common(&self) -> &docket_platform::config::CommonSettings {
        &self.settings.common
    }

    fn routes(self) -> poem::endpoint::BoxEndpoint<'static, poem::Response> {
        routes(self).map_to_response().boxed()
    }
}

/// Everything the handlers and the background tasks need, from settings.
pub async fn state(settings: Settings) -> anyhow::Result<AppState> {
    let db = Db::open_with(
        settings.database_url.expose(),
        MIGRATIONS,
        settings.db.max_connections,
        settings.db.schema,
    )
    .await?;
    Ok(AppState {
        db,
        clients: Clients::new(
            &settings.tickets_url,
            &settings.auth_url,
            settings.service_token.clone(),
        ),
        signer: Signer::new(settings.signing_key.expose()),
        settings: Arc::new(settings),
        new_mail: Arc::new(tokio::sync::Notify::new()),
    })
}

/// The route table.
pub fn routes(state: AppState) -> impl Endpoint {
    let api = api::openapi();
    let spec = api.spec();
    let spec_json: serde_json::Value = serde_json::from_str(&spec).unwrap_or_default();
    let allow = AllowMethods::from_spec(&spec_json)
        .with("/health", &["get"])
        .with("/health/*", &["get"])
        .with("/api/notifications/unsubscribe", &["get", "post"]);
    let docs = api.swagger_ui();
    let health = Health::new("notifications").with_check(DbCheck(state.db.clone()));
    let verifier = TokenVerifier::remote(&state.settings.auth_url, state.settings.jwt_leeway_secs);
    Route::new()
        .nest("/", api)
        .at(
            "/api/notifications/unsubscribe",
            api::unsubscribe::endpoint(),
        )
        .nest("/docs", docs)
        .nest("/health", health.routes())
        .at(
            "/openapi/notifications.json",
            make_sync(move |_| Json(spec_json.clone())),
        )
        .data(state)
        .data(verifier)
        .with(allow)
        .with(RequestContext)
}

//! Building and running the gateway: the route table and its middleware.

use std::sync::Arc;

use crate::{
    Settings, docs,
    headers::SecurityHeaders,
    health::SystemHealth,
    limits::Limited,
    proxy::{Proxy, Upstream},
    ratelimit::{Limiter, LimiterCheck},
};
use docket_platform::{
    ApiError,
    config::CommonSettings,
    health::Health,
    metrics::Metrics,
    middleware::{AllowMethods, RequestContext},
    server,
};
use poem::{
    Endpoint, EndpointExt, Request, Response, Route,
    endpoint::{BoxEndpoint, StaticFilesEndpoint, make_sync},
    get, handler,
    web::{Html, Json},
};

/// The gateway, bound and ready to run: the platform's `Application`, as every service is.
pub type Application = server::Application<Gateway>;

/// What the gateway runs on: its settings, the rate limiter and the forwarder.
pub struct Gateway {
    settings: Settings,
    limiter: Limiter,
    proxy: Proxy,
}

impl server::Service for Gateway {
    const NAME: &'static str = "gateway";
    type Settings = Settings;

    async fn build(settings: Settings) -> anyhow::Result<Self> {
        let l = &settings.limits;
        let limiter = Limiter::new(
            l.redis_url.as_deref(),
            &l.prefix,
            l.redis_timeout,
            l.on_redis_down,
        )?;
        let proxy = Proxy::new(settings.clone())?;
        Ok(Self {
            settings,
            limiter,
            proxy,
        })
    }

    fn common(&self) -> &CommonSettings {
        &self.settings.common
    }

    fn routes(self) -> BoxEndpoint<'static, Response> {
        tracing::info!(web_dir = %self.settings.web_dir.display(), "gateway serving the web app from");
        routes(self.settings, self.limiter, self.proxy)
            .map_to_response()
            .boxed()
    }
}

/// The proxy as a raw endpoint, so it owns the request (and its body stream).
struct Forward(Proxy);

impl Endpoint for Forward {
    type Output = Response;
    async fn call(&self, req: Request) -> poem::Result<Response> {
        Ok(self.0.forward(req).await?)
    }
}

/// `/openapi/{name}.json`: the service's own document.
struct OpenApiDoc(Proxy);

impl Endpoint for OpenApiDoc {
    type Output = Response;
    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let name = req
            .uri()
            .path()
            .trim_start_matches("/openapi/")
            .trim_end_matches(".json")
            .to_owned();
        let upstream = match name.as_str() {
            "auth" => Upstream::Auth,
            "tickets" => Upstream::Tickets,
            "attachments" => Upstream::Attachments,
            "notifications" => Upstream::Notifications,
            _ => return Err(ApiError::not_found("document").into()),
        };
        Ok(self.0.forward_to(upstream, &mut req).await?)
    }
}

/// `/health` or `/health/gateway`, answered by [`SystemHealth`].
struct HealthEndpoint {
    health: Arc<SystemHealth>,
    system: bool,
}

impl Endpoint for HealthEndpoint {
    type Output = Response;
    async fn call(&self, req: Request) -> poem::Result<Response> {
        Ok(if self.system {
            self.health.system(&req).await
        } else {
            self.health.gateway(&req).await
        })
    }
}

#[handler]
fn placeholder() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Docket</title></head>",
        "<body><h1>Docket is running</h1><p>The web app has not been built. Run <code>npm ci &amp;&amp; npm run build</code> ",
        "in <code>frontend/</code>, or use the README's run command. The API is at <a href=\"/docs\">/docs</a>.</p></body></html>"
    ))
}

/// The route table.
pub fn routes(settings: Settings, limiter: Limiter, proxy: Proxy) -> impl Endpoint {
    let http = reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .build()
        .unwrap_or_default();
    let own_health = Arc::new(Health::new("gateway").with_check(LimiterCheck(limiter.clone())));
    let system_health = Arc::new(SystemHealth::new(&settings, http, own_health));
    let metrics = Metrics::new("gateway");
    let decisions = crate::limits::decision_counter(&metrics);
    // `/health` and `/health/gateway` count against the caller's API budget like `/api/*`.
    let limited_health = |system: bool| Limited {
        inner: get(HealthEndpoint {
            health: system_health.clone(),
            system,
        }),
        limiter: limiter.clone(),
        settings: settings.limits.clone(),
        trusted_proxy_hops: settings.trusted_proxy_hops,
        decisions: decisions.clone(),
    };
    let health = limited_health(true);
    let gateway_health = limited_health(false);
    let limited = Limited {
        inner: Forward(proxy.clone()),
        limiter,
        settings: settings.limits.clone(),
        trusted_proxy_hops: settings.trusted_proxy_hops,
        decisions,
    };
    let mut app = Route::new()
        .nest_no_strip("/api", limited)
        .at("/openapi/:name", OpenApiDoc(proxy))
        .nest("/docs", docs::routes(&settings.web_dir))
        .at("/health", health)
        .at("/health/gateway", gateway_health)
        .at(
            "/health/live",
            make_sync(|_| Json(serde_json::json!({ "status": "alive" }))),
        )
        .at(
            "/health/ready",
            make_sync(|_| Json(serde_json::json!({ "status": "ready" }))),
        )
        .at("/metrics", get(PrivateMetrics(metrics.clone())));
    app = if settings.web_dir.join("index.html").is_file() {
        app.nest(
            "/",
            StaticFilesEndpoint::new(&settings.web_dir)
                .index_file("index.html")
                .fallback_to_index(),
        )
    } else {
        tracing::warn!(web_dir = %settings.web_dir.display(), "web app not built; serving a placeholder page");
        app.at("/", get(placeholder))
    };
    let security = SecurityHeaders {
        hsts: settings.hsts,
        allowed_origins: Arc::new(settings.allowed_origins.clone()),
        app_csp: poem::http::HeaderValue::from_str(&crate::headers::app_csp(
            &settings.csp_connect_src,
        ))
        .unwrap_or_else(|_| poem::http::HeaderValue::from_static("default-src 'self'")),
    };
    // `/api/*` answers its services' own 405s (with their `Allow`); these are the gateway's.
    let allow = AllowMethods::default()
        .with("/openapi/*", &["get"])
        .with("/docs", &["get"])
        .with("/health", &["get"])
        .with("/health/*", &["get"])
        .with("/*", &["get"]);
    app.data(settings)
        .with(allow)
        .with(security)
        .with(RequestContext)
        .with(metrics.layer())
}

/// `GET /metrics` for a scraper that reaches the task directly. The gateway's port is the
/// public entry behind the load balancer, which adds `X-Forwarded-For` to everything it
/// forwards: a request carrying one came from outside and gets the unknown-route 404.
struct PrivateMetrics(Metrics);

impl Endpoint for PrivateMetrics {
    type Output = Response;
    async fn call(&self, req: Request) -> poem::Result<Response> {
        if req.headers().contains_key("x-forwarded-for") {
            return Err(poem::error::NotFoundError.into());
        }
        Ok(self.0.response())
    }
}

//! `GET /metrics`: the service's counters in Prometheus' text format, for a scraper on the
//! private network.
//!
//! Every service counts its requests and their latency by method, route template and status
//! ([`Metrics::layer`], outside [`crate::middleware::RequestContext`] so it sees the status the
//! client got), and a service with a database reports its two pools ([`DbPoolCollector`]).
//! A service registers its own metrics in [`Metrics::registry`] (the gateway its rate-limit
//! decisions, attachments the bytes uploaded). Nothing here is global: each service builds one
//! `Metrics` and passes it where it is needed, so tests of several services in one process
//! keep their counts apart.
//!
//! Route labels are templates (ids become `{id}`, as in the request log), and at most
//! [`MAX_ROUTES`] distinct ones are kept: a client probing random paths cannot grow the
//! answer without bound; later routes are counted as `other`.
//!
//! The gateway serves the public, so it answers `/metrics` only to callers that did not come
//! through a proxy (no `X-Forwarded-For`), and its proxy never forwards the path.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Instant,
};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{StatusCode, header},
};
use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, Opts, Registry, TextEncoder,
    core::{Collector, Desc},
    proto::MetricFamily,
};

use crate::{db::Db, middleware::route_template};

pub use prometheus::{IntCounter, IntCounterVec};

/// The most distinct route labels kept; requests to further routes count as `other`.
pub const MAX_ROUTES: usize = 200;

/// Latency buckets in seconds: from a cached answer to an upload of many megabytes.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// One service's metrics.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    routes: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The request metrics of `service` (its name, a constant label on everything).
    pub fn new(service: &str) -> Self {
        let registry = Registry::new_custom(
            Some("docket".to_owned()),
            Some(std::iter::once(("service".to_owned(), service.to_owned())).collect()),
        )
        .unwrap_or_default();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "Requests answered, by route and status",
            ),
            &["method", "route", "status"],
        )
        .unwrap_or_else(|_| unreachable!("valid metric options"));
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from the request's arrival to its answer's headers",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route", "status"],
        )
        .unwrap_or_else(|_| unreachable!("valid metric options"));
        let metrics = Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                latency,
                routes: Mutex::default(),
            }),
        };
        metrics.register(Box::new(metrics.inner.requests.clone()));
        metrics.register(Box::new(metrics.inner.latency.clone()));
        metrics
    }

    /// Where a service adds its own metrics (names get the `docket_` prefix).
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Adds `collector`; a duplicate name is a programming error, logged and skipped.
    pub fn register(&self, collector: Box<dyn Collector>) {
        if let Err(e) = self.inner.registry.register(collector) {
            tracing::error!(error = %e, "a metric could not be registered");
        }
    }

    /// A counter registered here, for a service's own events.
    pub fn counter(&self, name: &str, help: &str) -> IntCounter {
        let counter =
            IntCounter::new(name, help).unwrap_or_else(|_| unreachable!("valid metric options"));
        self.register(Box::new(counter.clone()));
        counter
    }

    /// A labelled counter registered here, for a service's own events.
    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        let counter = IntCounterVec::new(Opts::new(name, help), labels)
            .unwrap_or_else(|_| unreachable!("valid metric options"));
        self.register(Box::new(counter.clone()));
        counter
    }

    /// Reports `db`'s pools at every scrape.
    pub fn with_db(self, db: &Db) -> Self {
        self.register(Box::new(DbPoolCollector::new(db.clone())));
        self
    }

    /// The middleware that counts requests.
    pub fn layer(&self) -> MetricsLayer {
        MetricsLayer(self.clone())
    }

    /// Everything, in the text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.inner.registry.gather(), &mut out) {
            tracing::error!(error = %e, "encoding metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// `GET /metrics`.
    pub fn endpoint(&self) -> impl Endpoint<Output = Response> + use<> {
        let metrics = self.clone();
        poem::endpoint::make_sync(move |_| metrics.response())
    }

    /// The `/metrics` answer.
    pub fn response(&self) -> Response {
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, TextEncoder::new().format_type())
            .header(header::CACHE_CONTROL, "no-store")
            .body(self.render())
    }

    fn route_label(&self, path: &str) -> String {
        let mut route = route_template(path);
        if route.len() > 120 {
            route.truncate(route.floor_char_boundary(120));
        }
        let mut routes = self.inner.routes.lock().unwrap_or_else(|e| e.into_inner());
        if routes.contains(&route) {
            return route;
        }
        if routes.len() >= MAX_ROUTES {
            return "other".to_owned();
        }
        routes.insert(route.clone());
        route
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.inner.requests.with_label_values(&labels).inc();
        self.inner
            .latency
            .with_label_values(&labels)
            .observe(seconds);
    }
}

/// Counts each request once its answer is ready (see the module doc).
#[derive(Clone)]
pub struct MetricsLayer(Metrics);

impl<E: Endpoint> Middleware<E> for MetricsLayer {
    type Output = MetricsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        MetricsEndpoint {
            inner: ep,
            metrics: self.0.clone(),
        }
    }
}

pub struct MetricsEndpoint<E> {
    inner: E,
    metrics: Metrics,
}

impl<E: Endpoint> Endpoint for MetricsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let method = req.method().as_str().to_owned();
        let route = self.metrics.route_label(req.uri().path());
        let resp = match self.inner.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => err.into_response(),
        };
        self.metrics.observe(
            &method,
            &route,
            resp.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
        Ok(resp)
    }
}

/// The database pools as gauges, read when scraped: `docket_db_connections{pool, state}` with
/// `pool` = `transactions` (sqlx's) or `statements` (single statements), `state` = `open`,
/// `idle` or `in_use`, and `docket_db_connections_max` (each pool's bound).
pub struct DbPoolCollector {
    db: Db,
    connections: prometheus::IntGaugeVec,
    max: prometheus::IntGauge,
    descs: Vec<Desc>,
}

impl DbPoolCollector {
    pub fn new(db: Db) -> Self {
        let connections = prometheus::IntGaugeVec::new(
            Opts::new("db_connections", "Database connections by pool and state"),
            &["pool", "state"],
        )
        .unwrap_or_else(|_| unreachable!("valid metric options"));
        let max = prometheus::IntGauge::new(
            "db_connections_max",
            "Each database pool's bound (DB_MAX_CONNECTIONS)",
        )
        .unwrap_or_else(|_| unreachable!("valid metric options"));
        let descs = connections
            .desc()
            .into_iter()
            .chain(max.desc())
            .cloned()
            .collect();
        Self {
            db,
            connections,
            max,
            descs,
        }
    }
}

impl Collector for DbPoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let c = self.db.pool_counts();
        let set = |pool: &str, state: &str, v: u32| {
            self.connections
                .with_label_values(&[pool, state])
                .set(i64::from(v));
        };
        set("transactions", "open", c.transactions_open);
        set("transactions", "idle", c.transactions_idle);
        set(
            "transactions",
            "in_use",
            c.transactions_open.saturating_sub(c.transactions_idle),
        );
        set("statements", "in_use", c.statements_in_use);
        set("statements", "idle", c.statements_idle);
        set(
            "statements",
            "open",
            c.statements_in_use + c.statements_idle,
        );
        self.max.set(i64::from(c.max));
        let mut families = self.connections.collect();
        families.extend(self.max.collect());
        families
    }
}

/// A check of Prometheus' text format, for tests: every sample line is `name{labels} value`
/// with a valid name and a number, and every sample's family was declared by `# TYPE`.
/// Returns the samples as (name with labels, value).
pub fn parse_text(text: &str) -> std::result::Result<Vec<(String, f64)>, String> {
    let mut typed = HashSet::new();
    let mut samples = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        if line.is_empty() || line.starts_with("# HELP ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (Some(name), Some(kind), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("line {n}: malformed TYPE: {line}"));
            };
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(format!("line {n}: unknown type {kind}"));
            }
            typed.insert(name.to_owned());
            continue;
        }
        if line.starts_with('#') {
            return Err(format!("line {n}: unknown comment: {line}"));
        }
        let (series, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("line {n}: no value: {line}"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .map_err(|_| format!("line {n}: {v:?} is not a number"))?,
        };
        let name = series.split('{').next().unwrap_or(series);
        let valid_name = name.chars().enumerate().all(|(i, c)| {
            c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
        });
        if name.is_empty() || !valid_name {
            return Err(format!("line {n}: bad metric name {name:?}"));
        }
        let labels = series.strip_prefix(name).unwrap_or_default();
        if !(labels.is_empty() || labels.starts_with('{') && labels.ends_with('}')) {
            return Err(format!("line {n}: bad labels {labels:?}"));
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix).filter(|f| typed.contains(*f)))
            .unwrap_or(name);
        if !typed.contains(family) {
            return Err(format!("line {n}: {name} has no # TYPE line"));
        }
        samples.push((series.to_owned(), value));
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_template_and_the_text_parses() {
        let metrics = Metrics::new("test");
        let route = metrics.route_label("/api/tickets/0195f3a0-6a4e-7c1b-9f7e-3f1d2c4b5a69");
        assert_eq!(route, "/api/tickets/{id}");
        metrics.observe("GET", &route, 200, 0.003);
        metrics.observe("GET", &route, 200, 0.004);
        let samples = parse_text(&metrics.render()).unwrap();
        let count = samples
            .iter()
            .find(|(s, _)| {
                s.starts_with("docket_http_requests_total{")
                    && s.contains(r#"route="/api/tickets/{id}""#)
                    && s.contains(r#"status="200""#)
                    && s.contains(r#"service="test""#)
            })
            .map(|(_, v)| *v);
        assert_eq!(count, Some(2.0));
    }

    #[test]
    fn routes_beyond_the_bound_are_counted_as_other() {
        let metrics = Metrics::new("test");
        for i in 0..MAX_ROUTES {
            assert_eq!(
                metrics.route_label(&format!("/probe-{i}")),
                format!("/probe-{i}")
            );
        }
        assert_eq!(metrics.route_label("/one-more"), "other");
        assert_eq!(metrics.route_label("/probe-0"), "/probe-0");
    }

    #[test]
    fn the_parser_refuses_what_is_not_the_text_format() {
        assert!(parse_text("# TYPE a counter\na 1\n").is_ok());
        assert!(parse_text("a 1\n").is_err(), "no TYPE");
        assert!(
            parse_text("# TYPE a counter\na one\n").is_err(),
            "not a number"
        );
        assert!(parse_text("<html>\n").is_err());
    }
}

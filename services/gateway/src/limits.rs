//! Where Docket's rate limits are enforced: here, in the gateway, which every public request
//! passes. Gateway replicas share one budget per client through Redis (see
//! `docket_platform::ratelimit`); the services behind it do no limiting of their own.
//!
//! Three classes, each keyed by the client address (from `X-Forwarded-For` only through
//! `TRUSTED_PROXY_HOPS` trusted hops; IPv6 by /64):
//! - `api`: every `/api/*` request (default 100 per 15 min);
//! - `auth`: *failed* logins and registrations (default 5 per 15 min). One attempt is
//!   reserved from the budget before the request is forwarded, atomically, and given back
//!   when the answer is not a failure (400/401/403/409/422): successes cost nothing, and
//!   simultaneous guesses cannot all pass a check made before any of them was counted. While
//!   a client is over it, even a correct password gets 429;
//! - `upload`: attachment upload requests (default 20 per hour; requests, not files).
//!
//! Answers carry `RateLimit-Limit`, `-Remaining` and `-Reset` for the class with the least
//! remaining; a refusal is a 429 problem with `Retry-After`. There is no switch that turns
//! limiting off: a load test raises the rates instead.

use crate::ratelimit::{Decision, Limiter, Mode, Rate, RedisDown, client_key};
use docket_platform::metrics::{IntCounterVec, Metrics};
use docket_platform::{
    ApiError,
    config::{ConfigError, Source},
};
use poem::{
    Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, Method, StatusCode},
};

use crate::proxy::{client_ip, is_upload};

#[derive(Debug, Clone)]
pub struct LimitSettings {
    pub redis_url: Option<String>,
    pub api: Rate,
    pub auth_failures: Rate,
    pub uploads: Rate,
    pub on_redis_down: RedisDown,
    pub redis_timeout: std::time::Duration,
    pub prefix: String,
}

impl LimitSettings {
    pub fn from_source(source: &Source) -> Result<Self, ConfigError> {
        Ok(Self {
            redis_url: source.get("REDIS_URL").map(str::to_owned),
            api: source.parse(
                "RATE_LIMIT_API",
                Rate {
                    limit: 100,
                    period: std::time::Duration::from_secs(900),
                },
            )?,
            auth_failures: source.parse(
                "RATE_LIMIT_AUTH_FAILURES",
                Rate {
                    limit: 5,
                    period: std::time::Duration::from_secs(900),
                },
            )?,
            uploads: source.parse(
                "RATE_LIMIT_UPLOADS",
                Rate {
                    limit: 20,
                    period: std::time::Duration::from_secs(3600),
                },
            )?,
            on_redis_down: source.parse("RATE_LIMIT_REDIS_DOWN", RedisDown::Fallback)?,
            redis_timeout: source.millis("RATE_LIMIT_REDIS_TIMEOUT_MS", 100)?,
            prefix: source.string("RATE_LIMIT_PREFIX", "docket:rl"),
        })
    }
}

/// Which classes a request falls in.
fn classes(method: &Method, path: &str) -> (bool, bool) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let auth = *method == Method::POST
        && matches!(segments.as_slice(), ["api", "auth", "login" | "register"]);
    let upload = is_upload(method, path);
    (auth, upload)
}

fn is_auth_failure(status: StatusCode) -> bool {
    matches!(status.as_u16(), 400 | 401 | 403 | 409 | 422)
}

/// Wraps the forwarder with the limits.
pub struct Limited<E> {
    pub inner: E,
    pub limiter: Limiter,
    pub settings: LimitSettings,
    pub trusted_proxy_hops: usize,
    /// `docket_ratelimit_decisions_total{class, decision}` (see [`decision_counter`]).
    pub decisions: IntCounterVec,
}

/// The counter of rate-limit decisions on `/metrics`: one per class a request was checked
/// against (`api`, `auth`, `upload`), `allowed` or `limited`.
pub fn decision_counter(metrics: &Metrics) -> IntCounterVec {
    metrics.counter_vec(
        "ratelimit_decisions_total",
        "Rate-limit decisions by class (api, auth, upload) and outcome (allowed, limited)",
        &["class", "decision"],
    )
}

fn unavailable() -> ApiError {
    ApiError::ServiceUnavailable("Rate limiting is unavailable; try again shortly.".into())
}

fn set_headers(resp: &mut Response, d: &Decision) {
    let h = resp.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", d.limit.to_string()),
        ("ratelimit-remaining", d.remaining.to_string()),
        ("ratelimit-reset", d.reset.as_secs_f64().ceil().to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
}

impl<E: Endpoint> Endpoint for Limited<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let client = client_ip(&req, self.trusted_proxy_hops)
            .map(client_key)
            .unwrap_or_else(|| "unknown".into());
        let (auth, upload) = classes(req.method(), req.uri().path());
        let s = &self.settings;
        let mut decisions = vec![
            self.limiter
                .decide("api", &client, s.api, Mode::Take)
                .await
                .map_err(|_| unavailable())?,
        ];
        if auth {
            decisions.push(
                self.limiter
                    .decide("auth", &client, s.auth_failures, Mode::Take)
                    .await
                    .map_err(|_| unavailable())?,
            );
        }
        if upload {
            decisions.push(
                self.limiter
                    .decide("upload", &client, s.uploads, Mode::Take)
                    .await
                    .map_err(|_| unavailable())?,
            );
        }
        let checked = ["api"]
            .into_iter()
            .chain(auth.then_some("auth"))
            .chain(upload.then_some("upload"));
        for (class, d) in checked.zip(&decisions) {
            let outcome = if d.allowed { "allowed" } else { "limited" };
            self.decisions.with_label_values(&[class, outcome]).inc();
        }
        if let Some(denied) = decisions
            .iter()
            .filter(|d| !d.allowed)
            .max_by_key(|d| d.retry_after)
        {
            if auth && decisions.get(1).is_some_and(|d| d.allowed) {
                // Another class refused it: the reserved attempt was never made.
                let _ = self
                    .limiter
                    .decide("auth", &client, s.auth_failures, Mode::Refund)
                    .await;
            }
            let retry = denied.retry_after.as_secs_f64().ceil().max(1.0) as u64;
            tracing::info!(client = %client, retry_after = retry, "rate limited");
            let err: poem::Error = ApiError::TooManyRequests {
                detail: format!("Too many requests. Try again in {retry} seconds."),
                retry_after_secs: retry,
            }
            .into();
            let mut resp = docket_platform::middleware::problem_response(&err);
            set_headers(&mut resp, denied);
            if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
                resp.headers_mut().insert("retry-after", v);
            }
            return Ok(resp);
        }
        let mut resp = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => docket_platform::middleware::problem_response(&e),
        };
        if auth
            && !is_auth_failure(resp.status())
            && let Ok(refund) = self
                .limiter
                .decide("auth", &client, s.auth_failures, Mode::Refund)
                .await
            && let Some(d) = decisions.get_mut(1)
        {
            *d = Decision {
                remaining: refund.remaining,
                reset: refund.reset,
                ..*d
            };
        }
        if let Some(least) = decisions.iter().min_by_key(|d| d.remaining) {
            set_headers(&mut resp, least);
        }
        Ok(resp)
    }
}

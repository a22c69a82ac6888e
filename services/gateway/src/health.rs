//! `/health` for the whole system: each service's own `/health`, gathered.
//!
//! The gateway is `healthy` when every service is; `degraded` when one reports degraded;
//! `unhealthy` (503) when one is unhealthy or cannot be reached. The load balancer should use
//! `/health/live` or `/health/ready` instead, which describe the gateway alone, so one sick
//! service does not take the entry point out of rotation.
//!
//! The gateway is public, so what `/health` and `/health/gateway` tell depends on who asks:
//! an admin (a valid access token with the admin role) or a caller inside the host (a
//! loopback peer with no `X-Forwarded-For`, such as an operator's `curl` on the machine or the
//! container's own check) gets every check with its detail; anyone else gets the status word
//! alone, so versions, bucket names and free disk stay private. One gathering runs at a time
//! and its answer is reused for [`REUSE_FOR`]: however often `/health` is called, each service
//! sees at most about one check a second from each gateway.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::future::join_all;
use poem::{
    IntoResponse, Request, Response,
    http::{StatusCode, header},
    web::Json,
};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use docket_platform::{
    auth::{Role, TokenVerifier},
    health::Health,
};

use crate::Settings;

/// How long one gathering answers `/health`.
const REUSE_FOR: Duration = Duration::from_secs(1);

/// The gateway's health endpoints and what they remember between calls.
pub struct SystemHealth {
    services: [(&'static str, String); 3],
    http: reqwest::Client,
    own: Arc<Health>,
    verifier: TokenVerifier,
    trusted_proxy_hops: usize,
    last: Mutex<Option<(Instant, StatusCode, Value)>>,
}

impl SystemHealth {
    pub fn new(settings: &Settings, http: reqwest::Client, own: Arc<Health>) -> Self {
        Self {
            services: [
                ("auth", settings.auth_url.clone()),
                ("tickets", settings.tickets_url.clone()),
                ("attachments", settings.attachments_url.clone()),
            ],
            http,
            own,
            verifier: TokenVerifier::remote(&settings.auth_url, settings.jwt_leeway_secs),
            trusted_proxy_hops: settings.trusted_proxy_hops,
            last: Mutex::new(None),
        }
    }

    /// `GET /health`.
    pub async fn system(&self, req: &Request) -> Response {
        let (code, report) = self.gathered().await;
        self.answer(req, code, report).await
    }

    /// `GET /health/gateway`: the gateway's own checks (its rate limiter's store).
    pub async fn gateway(&self, req: &Request) -> Response {
        let report = self.own.report().await;
        let code = if report["status"] == "unhealthy" {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        self.answer(req, code, report).await
    }

    async fn answer(&self, req: &Request, code: StatusCode, report: Value) -> Response {
        let body = if self.may_see_detail(req).await {
            report
        } else {
            json!({ "status": report["status"] })
        };
        let mut resp = Json(body).with_status(code).into_response();
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        resp
    }

    /// An admin's token, or a request from this host that no proxy forwarded.
    async fn may_see_detail(&self, req: &Request) -> bool {
        let forwarded = req.headers().contains_key("x-forwarded-for")
            || req.headers().contains_key(header::FORWARDED);
        let loopback = req
            .remote_addr()
            .as_socket_addr()
            .is_some_and(|a| a.ip().is_loopback());
        if loopback && !forwarded && self.trusted_proxy_hops == 0 {
            return true;
        }
        let Some(token) = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        matches!(self.verifier.verify(token).await, Ok(c) if c.role == Role::Admin)
    }

    /// The last gathering if it is recent, else a new one; callers that arrive during a
    /// gathering wait for it rather than start their own.
    async fn gathered(&self) -> (StatusCode, Value) {
        let mut last = self.last.lock().await;
        if let Some((at, code, report)) = last.as_ref()
            && at.elapsed() < REUSE_FOR
        {
            return (*code, report.clone());
        }
        let (code, report) = self.gather().await;
        *last = Some((Instant::now(), code, report.clone()));
        (code, report)
    }

    async fn gather(&self) -> (StatusCode, Value) {
        let http = &self.http;
        let mut checks = join_all(self.services.iter().map(|(name, base)| async move {
            let started = Instant::now();
            let answer = http
                .get(format!("{base}/health"))
                .timeout(Duration::from_secs(3))
                .send()
                .await;
            let (status, detail) = match answer {
                Ok(resp) => {
                    let body: Value = resp.json().await.unwrap_or(Value::Null);
                    let status = body["status"].as_str().unwrap_or("unhealthy").to_owned();
                    (status, body)
                }
                Err(e) => (
                    "unhealthy".to_owned(),
                    json!({ "error": if e.is_timeout() { "timed out" } else { "unreachable" } }),
                ),
            };
            json!({
                "name": name,
                "status": status,
                "duration_ms": started.elapsed().as_secs_f64() * 1000.0,
                "detail": detail,
            })
        }))
        .await;
        let own = self.own.report().await;
        checks.insert(
            0,
            json!({ "name": "gateway", "status": own["status"].clone(), "detail": own }),
        );
        let any = |s: &str| checks.iter().any(|c| c["status"] == s);
        let (status, code) = if checks
            .iter()
            .any(|c| c["status"] != "healthy" && c["status"] != "degraded")
        {
            ("unhealthy", StatusCode::SERVICE_UNAVAILABLE)
        } else if any("degraded") {
            ("degraded", StatusCode::OK)
        } else {
            ("healthy", StatusCode::OK)
        };
        (
            code,
            json!({ "status": status, "service": "gateway", "checks": checks }),
        )
    }
}

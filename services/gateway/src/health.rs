//! `/health` for the whole system: each service's own `/health`, gathered.
//!
//! The gateway is `healthy` when every service is; `degraded` when one reports degraded;
//! `unhealthy` (503) when one is unhealthy or cannot be reached. The load balancer should use
//! `/health/live` or `/health/ready` instead, which describe the gateway alone, so one sick
//! service does not take the entry point out of rotation.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use poem::{IntoResponse, http::StatusCode, web::Json};
use serde_json::{Value, json};

use docket_platform::health::Health;

use crate::Settings;

pub async fn aggregate(
    settings: &Settings,
    http: &reqwest::Client,
    own: &Health,
) -> impl IntoResponse + use<> {
    let services = [
        ("auth", settings.auth_url.clone()),
        ("tickets", settings.tickets_url.clone()),
        ("attachments", settings.attachments_url.clone()),
    ];
    let mut checks = join_all(services.into_iter().map(|(name, base)| async move {
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
    let own = own.report().await;
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
    Json(json!({ "status": status, "service": "gateway", "checks": checks })).with_status(code)
}

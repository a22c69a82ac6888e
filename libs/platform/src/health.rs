//! Health endpoints: `/health` (deep), `/health/live`, `/health/ready`.
//!
//! A service registers [`HealthCheck`]s (database, Redis, storage…); memory and disk are always
//! checked. `/health` runs every check concurrently, each under a timeout, and answers
//! `healthy` (all pass), `degraded` (some warn: still 200, e.g. Redis down with the in-process
//! fallback serving) or `unhealthy` (any fail: 503). `/health/ready` runs only the checks
//! marked critical.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::future::{BoxFuture, join_all};
use poem::{
    Endpoint, EndpointExt, IntoResponse, Route, get, handler,
    http::StatusCode,
    web::{Data, Json},
};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub status: CheckStatus,
    pub message: String,
}

impl CheckOutcome {
    pub fn pass(message: impl Into<String>) -> Self {
        Self {
            status: CheckStatus::Pass,
            message: message.into(),
        }
    }
    pub fn warn(message: impl Into<String>) -> Self {
        Self {
            status: CheckStatus::Warn,
            message: message.into(),
        }
    }
    pub fn fail(message: impl Into<String>) -> Self {
        Self {
            status: CheckStatus::Fail,
            message: message.into(),
        }
    }
}

/// One named check. `critical` checks also decide readiness.
pub trait HealthCheck: Send + Sync {
    fn name(&self) -> &str;
    fn critical(&self) -> bool {
        false
    }
    fn check(&self) -> BoxFuture<'_, CheckOutcome>;
}

#[derive(Serialize)]
struct CheckReport {
    name: String,
    status: CheckStatus,
    message: String,
    duration_ms: f64,
}

#[derive(Serialize)]
struct HealthReport {
    status: &'static str,
    service: String,
    version: &'static str,
    uptime_secs: u64,
    checks: Vec<CheckReport>,
}

/// The set of checks a service runs.
#[derive(Clone)]
pub struct Health {
    service: String,
    started: Instant,
    checks: Vec<Arc<dyn HealthCheck>>,
    timeout: Duration,
}

impl Health {
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            started: Instant::now(),
            checks: vec![
                Arc::new(MemoryCheck),
                Arc::new(DiskCheck {
                    path: PathBuf::from("."),
                }),
            ],
            timeout: Duration::from_secs(3),
        }
    }

    pub fn with_check(mut self, check: impl HealthCheck + 'static) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// Checks free space where this service writes (replaces the default `.`).
    pub fn disk_path(mut self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.checks.retain(|c| c.name() != "disk");
        self.checks.push(Arc::new(DiskCheck { path }));
        self
    }

    async fn run(&self, only_critical: bool) -> (StatusCode, HealthReport) {
        let selected: Vec<_> = self
            .checks
            .iter()
            .filter(|c| !only_critical || c.critical())
            .collect();
        let results = join_all(selected.iter().map(|c| async move {
            let started = Instant::now();
            let outcome = tokio::time::timeout(self.timeout, c.check())
                .await
                .unwrap_or_else(|_| CheckOutcome::fail("timed out"));
            CheckReport {
                name: c.name().to_owned(),
                status: outcome.status,
                message: outcome.message,
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            }
        }))
        .await;
        let any = |s| results.iter().any(|r| r.status == s);
        let (status, code) = if any(CheckStatus::Fail) {
            ("unhealthy", StatusCode::SERVICE_UNAVAILABLE)
        } else if any(CheckStatus::Warn) {
            ("degraded", StatusCode::OK)
        } else {
            ("healthy", StatusCode::OK)
        };
        (
            code,
            HealthReport {
                status,
                service: self.service.clone(),
                version: env!("CARGO_PKG_VERSION"),
                uptime_secs: self.started.elapsed().as_secs(),
                checks: results,
            },
        )
    }

    /// The deep report as JSON, for a caller that gathers several (the gateway).
    pub async fn report(&self) -> serde_json::Value {
        let (_, report) = self.run(false).await;
        serde_json::to_value(report).unwrap_or_default()
    }

    /// The three routes, to nest at `/health`.
    pub fn routes(self) -> impl Endpoint {
        Route::new()
            .at("/", get(deep))
            .at("/live", get(live))
            .at("/ready", get(ready))
            .data(Arc::new(self))
    }
}

#[handler]
async fn deep(health: Data<&Arc<Health>>) -> impl IntoResponse {
    let (code, report) = health.run(false).await;
    Json(report).with_status(code)
}

#[handler]
async fn ready(health: Data<&Arc<Health>>) -> impl IntoResponse {
    let (code, report) = health.run(true).await;
    let status = if code.is_success() {
        "ready"
    } else {
        "not ready"
    };
    Json(serde_json::json!({ "status": status, "checks": report.checks })).with_status(code)
}

#[handler]
fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "alive" }))
}

/// System memory in use (from `/proc/meminfo`), and this process's resident size.
struct MemoryCheck;

fn meminfo_kib(field: &str, text: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// This process's resident set size in bytes (Linux), for health and benchmarks.
pub fn process_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    meminfo_kib("VmRSS:", &status).map(|kib| kib * 1024)
}

impl HealthCheck for MemoryCheck {
    fn name(&self) -> &str {
        "memory"
    }
    fn check(&self) -> BoxFuture<'_, CheckOutcome> {
        Box::pin(async {
            let rss_mib = process_rss_bytes().unwrap_or(0) / (1024 * 1024);
            let Ok(text) = std::fs::read_to_string("/proc/meminfo") else {
                return CheckOutcome::pass(format!("process {rss_mib} MiB"));
            };
            let (Some(total), Some(avail)) = (
                meminfo_kib("MemTotal:", &text),
                meminfo_kib("MemAvailable:", &text),
            ) else {
                return CheckOutcome::pass(format!("process {rss_mib} MiB"));
            };
            let used_pct = 100.0 * (total.saturating_sub(avail)) as f64 / total.max(1) as f64;
            let msg = format!("process {rss_mib} MiB; system {used_pct:.1}% used");
            if used_pct > 95.0 {
                CheckOutcome::fail(msg)
            } else if used_pct > 90.0 {
                CheckOutcome::warn(msg)
            } else {
                CheckOutcome::pass(msg)
            }
        })
    }
}

/// Free space on the file system this service writes to.
struct DiskCheck {
    path: PathBuf,
}

/// (total, available) bytes of the file system holding `path`.
#[allow(unsafe_code)]
pub fn disk_space(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is a valid NUL-terminated string and stat a valid out pointer.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    if rc != 0 {
        return None;
    }
    let frsize = stat.f_frsize as u64;
    Some((stat.f_blocks as u64 * frsize, stat.f_bavail as u64 * frsize))
}

impl HealthCheck for DiskCheck {
    fn name(&self) -> &str {
        "disk"
    }
    fn check(&self) -> BoxFuture<'_, CheckOutcome> {
        Box::pin(async {
            let Some((total, avail)) = disk_space(&self.path) else {
                return CheckOutcome::warn(format!("cannot stat {}", self.path.display()));
            };
            let used_pct = 100.0 * (total.saturating_sub(avail)) as f64 / total.max(1) as f64;
            let msg = format!("{used_pct:.1}% used, {} MiB free", avail / (1024 * 1024));
            if used_pct > 95.0 {
                CheckOutcome::fail(msg)
            } else if used_pct > 85.0 {
                CheckOutcome::warn(msg)
            } else {
                CheckOutcome::pass(msg)
            }
        })
    }
}

//! The test kit: what every service's integration tests need.
//!
//! - [`TestDb`]: a fresh database per test, SQLite (a file in a temp dir) or Postgres (a new
//!   schema on the server named by `TEST_DATABASE_URL`), so tests run in parallel.
//! - [`redis_url`] and [`aws_endpoint`]: backing services from `TEST_REDIS_URL` /
//!   `TEST_AWS_ENDPOINT_URL`.
//! - When a URL is not given (`scripts/test --containers` unsets them all), the service is
//!   started once per test binary with testcontainers — Postgres, Redis and LocalStack, from
//!   the images `compose.yaml` names ([`containers`]) — and removed when the binary exits.
//!   Any Docker engine from 20.10 (API 1.41) on does; nothing else is needed on the host.
//! - [`OwnS3`]: an S3 of a test's own, which the test may stop (moto's server from `.venv`
//!   when `TEST_AWS_ENDPOINT_URL` is set, else a LocalStack container).
//! - [`backend_tests!`] runs each test on both SQLite and Postgres.
//! - [`assert_problem`]: checks an error answer is problem+json with the right status and id.
//! - [`services`]: the auth and tickets services, and users with a role, for the tests of the
//!   services that call them.
//! - [`smtp::SmtpSink`]: a real SMTP server that keeps what it receives (mail tests).

// A test kit: a failed set-up step should stop the test loudly, with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod containers;
pub mod services;
pub mod smtp;

use std::{process::Stdio, sync::OnceLock, time::Duration};

use sqlx::{Connection as _, Executor as _};
use tokio::sync::OnceCell;

pub use docket_platform::db::Backend;

/// Runs each listed `async fn name(backend: Backend)` once per backend, as
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await
                }
            )*
        }
    };
}

/// A free loopback port for a server a test starts as a child process (moto, redis-server)
/// or stops and restarts. It comes from below Linux's ephemeral range (32768–60999), which
/// `bind(…:0)` and outgoing connections draw from, so the other tests running meanwhile cannot
/// be handed it between this check and the server's own bind; and no two calls in one test
/// binary return the same port.
pub fn spare_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // Binaries run one after another, but start each at its own place anyway.
    let start = std::process::id() % SPAN;
    for _ in 0..SPAN {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN;
        let port = u16::try_from(FIRST + offset).expect("below 32000");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {FIRST}..{}", FIRST + SPAN);
}

/// Quiet logs unless `TEST_LOG` is set.
pub fn init_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(docket_platform::telemetry::init_for_tests);
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

static PG_CONTAINER: OnceCell<(
    testcontainers::ContainerAsync<testcontainers_modules::postgres::Postgres>,
    String,
)> = OnceCell::const_new();

/// The Postgres server to create test databases on (a URL to an existing database).
async fn postgres_admin_url() -> String {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        return url;
    }
    let (_, url) = PG_CONTAINER
        .get_or_init(|| async {
            let (container, port) = containers::start(
                testcontainers_modules::postgres::Postgres::default(),
                "postgres",
                5432,
            )
            .await;
            (
                container,
                format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres"),
            )
        })
        .await;
    url.clone()
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        init_logs();
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/test.db", dir.path().display());
                Self {
                    url,
                    backend,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                // A schema per test, not a database: creating and dropping schemas is cheap,
                // while every DROP DATABASE forces a checkpoint.
                sqlx::any::install_default_drivers();
                let admin = postgres_admin_url().await;
                let schema = format!("docket_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::AnyConnection::connect(&admin)
                    .await
                    .expect("connecting to TEST_DATABASE_URL");
                conn.execute(format!(r#"CREATE SCHEMA "{schema}""#).as_str())
                    .await
                    .expect("creating a test schema");
                let _ = conn.close().await;
                let mut url = reqwest::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
                url.query_pairs_mut()
                    .append_pair("options[search_path]", &schema);
                Self {
                    url: url.to_string(),
                    backend,
                    _dir: None,
                }
            }
        }
    }

    /// A second, independent database (another service's, in multi-service tests).
    pub async fn another(&self) -> Self {
        Self::new(self.backend).await
    }
}

static REDIS_CONTAINER: OnceCell<(
    testcontainers::ContainerAsync<testcontainers_modules::redis::Redis>,
    String,
)> = OnceCell::const_new();

/// `TEST_REDIS_URL`, else a Redis started with testcontainers.
pub async fn redis_url() -> String {
    if let Ok(url) = std::env::var("TEST_REDIS_URL") {
        return url;
    }
    let (_, url) = REDIS_CONTAINER
        .get_or_init(|| async {
            let (container, port) = containers::start(
                testcontainers_modules::redis::Redis::default(),
                "redis",
                6379,
            )
            .await;
            (container, format!("redis://127.0.0.1:{port}"))
        })
        .await;
    url.clone()
}

static AWS_CONTAINER: OnceCell<(
    testcontainers::ContainerAsync<testcontainers_modules::localstack::LocalStack>,
    String,
)> = OnceCell::const_new();

/// `TEST_AWS_ENDPOINT_URL` (moto's server in the test command), else LocalStack with
/// testcontainers. Also sets the dummy credentials emulators expect.
pub async fn aws_endpoint() -> String {
    set_dummy_aws_credentials();
    if let Ok(url) = std::env::var("TEST_AWS_ENDPOINT_URL") {
        return url;
    }
    let (_, url) = AWS_CONTAINER
        .get_or_init(|| async {
            let (container, port) = start_localstack().await;
            (container, format!("http://127.0.0.1:{port}"))
        })
        .await;
    url.clone()
}

fn set_dummy_aws_credentials() {
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        if std::env::var_os(k).is_none() {
            // SAFETY-free in edition 2024 terms: tests set these once, before any AWS client.
            set_env(k, v);
        }
    }
}

/// LocalStack at compose's version; `LOCALSTACK_AUTH_TOKEN` is passed on when set (a later
/// release needs it).
async fn start_localstack() -> (
    testcontainers::ContainerAsync<testcontainers_modules::localstack::LocalStack>,
    u16,
) {
    use testcontainers::ImageExt as _;
    let mut request = testcontainers_modules::localstack::LocalStack::default()
        .with_env_var("SERVICES", "s3,secretsmanager");
    if let Ok(token) = std::env::var("LOCALSTACK_AUTH_TOKEN") {
        request = request.with_env_var("LOCALSTACK_AUTH_TOKEN", token);
    }
    containers::start(request, "localstack/localstack", 4566).await
}

/// An S3 of one test's own, for a test that stops it mid-request: moto's server from the
/// workspace's `.venv` (which the test command installs) when `TEST_AWS_ENDPOINT_URL` is set,
/// else a LocalStack container, so the container path needs nothing but Docker.
pub struct OwnS3 {
    pub endpoint: String,
    server: Option<OwnS3Server>,
}

enum OwnS3Server {
    Moto(std::process::Child),
    Container(Box<testcontainers::ContainerAsync<testcontainers_modules::localstack::LocalStack>>),
}

impl OwnS3 {
    pub async fn start() -> Self {
        set_dummy_aws_credentials();
        if std::env::var_os("TEST_AWS_ENDPOINT_URL").is_none() {
            let (container, port) = start_localstack().await;
            return Self {
                endpoint: format!("http://127.0.0.1:{port}"),
                server: Some(OwnS3Server::Container(Box::new(container))),
            };
        }
        let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/moto_server");
        let port = spare_port();
        let mut child = std::process::Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server from .venv (scripts/test installs it)");
        let endpoint = format!("http://127.0.0.1:{port}");
        for _ in 0..300 {
            if reqwest::get(format!("{endpoint}/moto-api/")).await.is_ok() {
                return Self {
                    endpoint,
                    server: Some(OwnS3Server::Moto(child)),
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("moto did not start on {endpoint}");
    }

    /// Kills the server at once (no graceful shutdown) and removes it.
    pub async fn stop(&mut self) {
        match self.server.take() {
            Some(OwnS3Server::Moto(mut child)) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Some(OwnS3Server::Container(container)) => {
                let _ = container.stop_with_timeout(Some(0)).await;
                let _ = container.rm().await;
            }
            None => {}
        }
    }
}

impl Drop for OwnS3 {
    fn drop(&mut self) {
        // A container left here is removed by its own drop (testcontainers), or at exit.
        if let Some(OwnS3Server::Moto(child)) = &mut self.server {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[allow(unsafe_code)]
fn set_env(k: &str, v: &str) {
    // SAFETY: only test binaries call this, for variables the AWS SDK reads; concurrent
    // readers at worst see the variable before or after it is set, never a torn value on glibc
    // for these short strings set to the same value by every caller.
    unsafe { std::env::set_var(k, v) };
}

/// Asserts `resp` is a problem+json error with `status`, whose `request_id` matches the
/// `X-Request-Id` header. Returns the body for further checks.
pub async fn assert_problem(resp: reqwest::Response, status: u16) -> serde_json::Value {
    let got = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let header_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(got, status, "expected {status}, got {got}: {text}");
    assert!(
        content_type.starts_with("application/problem+json"),
        "content-type {content_type}: {text}"
    );
    let body: serde_json::Value = serde_json::from_str(&text).expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    for field in ["type", "title", "detail", "request_id"] {
        assert!(body[field].is_string(), "problem lacks {field}: {body}");
    }
    assert!(!header_id.is_empty(), "no x-request-id header");
    assert_eq!(body["request_id"], header_id.as_str(), "request ids differ");
    body
}

/// The `field` of each entry of a 422's `errors` array, in order.
pub fn problem_fields(problem: &serde_json::Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {problem}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Sends `req` (a method no route at its path has) and asserts a 405 problem whose `Allow`
/// header is `allow`.
pub async fn assert_405_with_allow(req: reqwest::RequestBuilder, allow: &str) {
    let resp = req.send().await.expect("request sent");
    let url = resp.url().to_string();
    assert_eq!(
        resp.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some(allow),
        "{url}"
    );
    assert_problem(resp, 405).await;
}

/// A reqwest client that does not follow redirects or keep cookies.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

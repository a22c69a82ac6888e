//! Spawning the gateway (and what it forwards to) for one test.

use std::time::Duration;

use docket_gateway::{Application, Settings};
use docket_platform::config::Source;
use docket_testkit::{Backend, TestDb};
use poem::{
    Body, EndpointExt, Route, handler, post,
    web::{Json, Path},
};
use sha2::{Digest, Sha256};

pub struct Gateway {
    pub base: String,
    pub http: reqwest::Client,
    _keep: Vec<Box<dyn std::any::Any + Send>>,
}

impl Gateway {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers `email` with the password `password123`; returns the session.
    pub async fn register(&self, email: &str) -> serde_json::Value {
        let resp = self
            .http
            .post(self.url("/api/auth/register"))
            .json(&serde_json::json!({"email": email, "password": "password123", "name": "N"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    /// `n` logins sent at once; their statuses.
    pub async fn logins_at_once(&self, n: usize, email: &str, password: &str) -> Vec<u16> {
        let body = serde_json::json!({"email": email, "password": password});
        futures_util::future::join_all((0..n).map(|_| async {
            self.http
                .post(self.url("/api/auth/login"))
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }))
        .await
    }
}

/// The admin [`spawn_gateway_with_admin`] makes.
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// Starts a real auth service on SQLite; returns its URL.
pub async fn spawn_auth() -> (String, TestDb, tempfile::TempDir) {
    spawn_auth_with(false).await
}

/// [`spawn_auth`], with an admin account ([`ADMIN_EMAIL`]) when `admin` is set.
async fn spawn_auth_with(admin: bool) -> (String, TestDb, tempfile::TempDir) {
    let db = TestDb::new(Backend::Sqlite).await;
    let data = tempfile::tempdir().unwrap();
    let source = Source::from_pairs([
        ("DATABASE_URL", db.url.as_str()),
        ("PORT", "0"),
        ("DATA_DIR", data.path().to_str().unwrap()),
    ]);
    let app = docket_auth::Application::build(docket_auth::Settings::from_source(&source).unwrap())
        .await
        .unwrap();
    if admin {
        use docket_auth::{
            domain::{HashLimits, Password, PasswordHasher},
            repo::users::{self, NewUser},
        };
        let hash = PasswordHasher::new(HashLimits::default())
            .unwrap()
            .hash(&Password::parse(ADMIN_PASSWORD).unwrap())
            .await
            .unwrap();
        let user = NewUser {
            email: ADMIN_EMAIL,
            name: "Admin",
            password_hash: &hash,
            role: docket_platform::auth::Role::Admin,
        };
        users::insert(&app.state().db.pool, user).await.unwrap();
    }
    let url = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    (url, db, data)
}

/// What a peer saw of a request: byte count, digest, and selected headers.
#[handler]
async fn echo(body: Body, req: &poem::Request) -> Json<serde_json::Value> {
    use futures_util::StreamExt as _;
    let mut stream = body.into_bytes_stream();
    let (mut n, mut hasher) = (0u64, Sha256::new());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        n += chunk.len() as u64;
        hasher.update(&chunk);
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Json(serde_json::json!({
        "bytes": n,
        "sha256": format!("{:x}", hasher.finalize()),
        "path": req.uri().to_string(),
        "x_forwarded_for": header("x-forwarded-for"),
        "x_request_id": header("x-request-id"),
        "host": header("host"),
        "connection_token": header("x-hop"),
    }))
}

#[handler]
async fn slow(Path(ms): Path<u64>) -> &'static str {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "late"
}

/// A stand-in tickets service that echoes what it receives (a peer, not the thing under test).
pub async fn spawn_echo_peer() -> String {
    let app = Route::new()
        .at("/api/tickets/echo", post(echo).get(echo))
        .at("/api/tickets/slow/:ms", poem::get(slow))
        .at(
            "/internal/secret",
            poem::get(poem::endpoint::make_sync(|_| "internal")),
        )
        .boxed();
    serve_peer(app).await
}

/// Serves a stand-in service on a free port; returns its URL.
async fn serve_peer(app: impl poem::Endpoint + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(docket_platform::server::serve(
        listener,
        app,
        std::future::pending(),
        Duration::from_secs(1),
    ));
    format!("http://127.0.0.1:{port}")
}

/// A stand-in service whose `/health` counts its callers (slowly: 200 ms per check).
pub async fn spawn_counting_health_peer() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>)
{
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let app = Route::new().at(
        "/health",
        poem::get(poem::endpoint::make(move |_| {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(200)).await;
                Json(serde_json::json!({ "status": "healthy" }))
            }
        })),
    );
    (serve_peer(app).await, count)
}

/// A URL where nothing listens.
pub fn closed_port_url() -> String {
    format!("http://127.0.0.1:{}", docket_testkit::spare_port())
}

pub async fn spawn_gateway(pairs: &[(&str, &str)]) -> Gateway {
    spawn_gateway_on(spawn_auth().await, pairs).await
}

/// [`spawn_gateway`] whose auth service has an admin; returns the admin's access token too.
pub async fn spawn_gateway_with_admin(pairs: &[(&str, &str)]) -> (Gateway, String) {
    let gw = spawn_gateway_on(spawn_auth_with(true).await, pairs).await;
    let resp = gw
        .http
        .post(gw.url("/api/auth/login"))
        .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    (gw, token)
}

async fn spawn_gateway_on(
    (auth_url, db, data): (String, TestDb, tempfile::TempDir),
    pairs: &[(&str, &str)],
) -> Gateway {
    docket_testkit::init_logs();
    let tickets = spawn_echo_peer().await;
    let closed = closed_port_url();
    let mut source = Source::from_pairs([
        ("PORT", "0"),
        ("AUTH_URL", auth_url.as_str()),
        ("TICKETS_URL", tickets.as_str()),
        ("ATTACHMENTS_URL", closed.as_str()),
        ("WEB_DIR", "/nonexistent"),
        // A test that means Redis to answer must not see it "time out" on a loaded machine and
        // fall back to per-process limits (the default, 100 ms, is for production); tests of
        // the timeout set their own.
        ("RATE_LIMIT_REDIS_TIMEOUT_MS", "2000"),
    ]);
    for (k, v) in pairs {
        source.set(*k, *v);
    }
    let app = Application::build(Settings::from_source(&source).unwrap())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    Gateway {
        base,
        http: docket_testkit::http(),
        _keep: vec![Box::new(db), Box::new(data)],
    }
}

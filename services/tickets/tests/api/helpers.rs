//! Spawning the tickets service for one test — with a real auth service (its own database)
//! and a stand-in for the attachments service's internal delete endpoint — and calling it.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU16, Ordering},
};

use docket_auth::{
    domain::{HashLimits, Password, PasswordHasher},
    keys::SigningKeys,
    repo::users::{self, NewUser},
};
use docket_platform::{auth::Role, config::Source};
use docket_testkit::{Backend, TestDb};
use poem::{EndpointExt, Route, delete, handler, http::StatusCode, web::Path};
use serde_json::{Value, json};

/// The attachments service's `DELETE /internal/tickets/{id}/attachments`, as a peer: it
/// records each call and answers with the status the test chose.
pub type StubCall = (String, Option<String>);

#[derive(Clone)]
pub struct AttachmentsStub {
    /// (ticket id, forwarded bearer token) of each call.
    pub calls: Arc<Mutex<Vec<StubCall>>>,
    pub status: Arc<AtomicU16>,
}

impl AttachmentsStub {
    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
    pub fn calls(&self) -> Vec<StubCall> {
        self.calls.lock().unwrap().clone()
    }
}

#[handler]
fn stub_delete(
    req: &poem::Request,
    Path(id): Path<String>,
    stub: poem::web::Data<&AttachmentsStub>,
) -> StatusCode {
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_start_matches("Bearer ").to_owned());
    stub.calls.lock().unwrap().push((id, bearer));
    StatusCode::from_u16(stub.status.load(Ordering::SeqCst)).unwrap()
}

async fn spawn_attachments_stub() -> (String, AttachmentsStub) {
    let stub = AttachmentsStub {
        calls: Arc::default(),
        status: Arc::new(AtomicU16::new(204)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Route::new()
        .at("/internal/tickets/:id/attachments", delete(stub_delete))
        .data(stub.clone());
    let acceptor = docket_platform::server::NoDelayAcceptor::new(listener).unwrap();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (format!("http://127.0.0.1:{port}"), stub)
}

pub struct TestApp {
    pub base: String,
    pub auth_base: String,
    pub http: reqwest::Client,
    pub pool: sqlx::AnyPool,
    /// The service's database handle (shares its connections).
    pub db: docket_platform::db::Db,
    /// The service's `DATABASE_URL`.
    pub db_url: String,
    pub auth_pool: sqlx::AnyPool,
    pub attachments: AttachmentsStub,
    _db: TestDb,
    _auth_db: TestDb,
    _data: tempfile::TempDir,
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, &[]).await
}

/// `extra` settings override the tickets service's defaults (e.g. `ATTACHMENTS_URL`).
pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let auth_db = TestDb::new(backend).await;
    let data = tempfile::tempdir().unwrap();
    let private_pem = SigningKeys::generate_pem().unwrap();
    let auth_settings = docket_auth::Settings::from_source(&Source::from_pairs([
        ("DATABASE_URL", auth_db.url.as_str()),
        ("PORT", "0"),
        ("DATA_DIR", data.path().to_str().unwrap()),
        ("JWT_PRIVATE_KEY", private_pem.as_str()),
        ("JWT_LEEWAY_SECS", "0"),
    ]))
    .unwrap();
    let auth = docket_auth::Application::build(auth_settings)
        .await
        .unwrap();
    let auth_base = format!("http://127.0.0.1:{}", auth.port());
    let auth_pool = auth.state().db.pool.clone();
    tokio::spawn(auth.run_until(std::future::pending()));

    let (attachments_url, attachments) = spawn_attachments_stub().await;
    let db = TestDb::new(backend).await;
    let mut source = Source::from_pairs([
        ("DATABASE_URL", db.url.as_str()),
        ("PORT", "0"),
        ("AUTH_URL", auth_base.as_str()),
        ("ATTACHMENTS_URL", attachments_url.as_str()),
        ("JWT_LEEWAY_SECS", "0"),
        ("MAX_JSON_BYTES", "65536"),
        ("SERVICE_TIMEOUT_MS", "3000"),
    ]);
    for (k, v) in extra {
        source.set(*k, *v);
    }
    let settings = docket_tickets::Settings::from_source(&source).unwrap();
    let app = docket_tickets::Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let service_db = app.state().db.clone();
    let pool = service_db.pool.clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        base,
        auth_base,
        http: docket_testkit::http(),
        pool,
        db: service_db,
        db_url: db.url.clone(),
        auth_pool,
        attachments,
        _db: db,
        _auth_db: auth_db,
        _data: data,
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub token: String,
    pub role: Role,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers a fresh requester through the auth service.
    pub async fn requester(&self) -> User {
        let email = format!("req-{}@example.com", uuid::Uuid::new_v4().simple());
        let resp = self
            .http
            .post(format!("{}/api/auth/register", self.auth_base))
            .json(&json!({"email": email, "password": "password123", "name": "Requester"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.unwrap();
        User {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            token: body["access_token"].as_str().unwrap().to_owned(),
            role: Role::Requester,
        }
    }

    /// Creates a user with `role` in the auth database and signs it in.
    pub async fn user_with_role(&self, role: Role) -> User {
        if role == Role::Requester {
            return self.requester().await;
        }
        let email = format!(
            "{}-{}@example.com",
            role.as_str(),
            uuid::Uuid::new_v4().simple()
        );
        let hash = PasswordHasher::new(HashLimits::default())
            .unwrap()
            .hash(&Password::parse("password123").unwrap())
            .await
            .unwrap();
        users::insert(
            &self.auth_pool,
            NewUser {
                email: &email,
                name: "Staff",
                password_hash: &hash,
                role,
            },
        )
        .await
        .unwrap();
        let resp = self
            .http
            .post(format!("{}/api/auth/login", self.auth_base))
            .json(&json!({"email": email, "password": "password123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        User {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            token: body["access_token"].as_str().unwrap().to_owned(),
            role,
        }
    }

    pub async fn get(&self, path: &str, user: &User) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, user: &User, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(&user.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(
        &self,
        path: &str,
        user: &User,
        if_match: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut rb = self
            .http
            .patch(self.url(path))
            .bearer_auth(&user.token)
            .json(body);
        if let Some(v) = if_match {
            rb = rb.header("if-match", v);
        }
        rb.send().await.unwrap()
    }

    pub async fn delete(&self, path: &str, user: &User) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
    }

    /// Opens a ticket as `user` and returns it.
    pub async fn ticket(&self, user: &User, subject: &str) -> Value {
        let resp = self
            .post(
                "/api/tickets",
                user,
                &json!({"subject": subject, "description": "It does not work."}),
            )
            .await;
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    pub async fn json(&self, path: &str, user: &User) -> Value {
        let resp = self.get(path, user).await;
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.unwrap()
    }
}

/// The ids of a list answer's items.
pub fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

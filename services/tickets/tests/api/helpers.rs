//! Spawning the tickets service for one test — with a real auth service (its own database)
//! and a stand-in for the attachments service's internal delete endpoint — and calling it.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU16, Ordering},
};

use docket_platform::auth::Role;
pub use docket_testkit::services::User;
use docket_testkit::{
    Backend,
    services::{Auth, Tickets},
};
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
    pub http: reqwest::Client,
    pub pool: sqlx::AnyPool,
    /// The service's database handle (shares its connections).
    pub db: docket_platform::db::Db,
    /// The service's `DATABASE_URL`.
    pub db_url: String,
    pub auth_pool: sqlx::AnyPool,
    pub attachments: AttachmentsStub,
    auth: Auth,
    _tickets: Tickets,
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, &[]).await
}

/// `extra` settings override the tickets service's defaults (e.g. `ATTACHMENTS_URL`).
pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let auth = Auth::spawn(backend).await;
    let (attachments_url, attachments) = spawn_attachments_stub().await;
    let mut settings = vec![
        ("ATTACHMENTS_URL", attachments_url.as_str()),
        ("MAX_JSON_BYTES", "65536"),
        ("SERVICE_TIMEOUT_MS", "3000"),
    ];
    settings.extend_from_slice(extra);
    let tickets = Tickets::spawn(backend, &auth.base, &settings).await;
    TestApp {
        base: tickets.base.clone(),
        http: docket_testkit::http(),
        pool: tickets.db.pool.clone(),
        db: tickets.db.clone(),
        db_url: tickets.db_url.clone(),
        auth_pool: auth.pool.clone(),
        attachments,
        auth,
        _tickets: tickets,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers a fresh requester through the auth service.
    pub async fn requester(&self) -> User {
        self.auth.requester().await
    }

    /// Creates a user with `role` in the auth database and signs it in.
    pub async fn user_with_role(&self, role: Role) -> User {
        self.auth.user_with_role(role).await
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

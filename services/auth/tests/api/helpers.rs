//! Spawning the auth service for one test, and calling it.

use docket_auth::{
    Application, Settings,
    domain::{HashLimits, Password, PasswordHasher},
    keys::SigningKeys,
    repo::users::{self, NewUser},
};
use docket_platform::{auth::Role, config::Source};
use docket_testkit::{Backend, TestDb};
use serde_json::{Value, json};

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub pool: sqlx::AnyPool,
    /// The private key the service signs with, so tests can forge tokens with it.
    pub private_pem: String,
    pub kid: String,
    _db: TestDb,
    _data: tempfile::TempDir,
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, &[]).await
}

pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let db = TestDb::new(backend).await;
    let data = tempfile::tempdir().unwrap();
    let private_pem = SigningKeys::generate_pem().unwrap();
    let mut source = Source::from_pairs([
        ("DATABASE_URL", db.url.as_str()),
        ("PORT", "0"),
        ("DATA_DIR", data.path().to_str().unwrap()),
        ("JWT_PRIVATE_KEY", private_pem.as_str()),
        ("JWT_LEEWAY_SECS", "0"),
        ("MAX_JSON_BYTES", "65536"),
    ]);
    for (k, v) in extra {
        source.set(*k, *v);
    }
    let settings = Settings::from_source(&source).unwrap();
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let pool = app.state().db.pool.clone();
    let kid = app.state().keys.kid().to_owned();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        base,
        http: docket_testkit::http(),
        pool,
        private_pem,
        kid,
        _db: db,
        _data: data,
    }
}

pub struct Session {
    pub id: String,
    pub email: String,
    pub password: String,
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn register(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/register",
            &json!({"email": email, "password": password, "name": "Test User"}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Registers a fresh requester and returns its session.
    pub async fn requester(&self) -> Session {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        let resp = self.register(&email, "password123").await;
        assert_eq!(resp.status(), 201);
        session_from(resp, &email, "password123").await
    }

    /// Creates a user with `role` directly in the database and signs it in.
    pub async fn user_with_role(&self, role: Role) -> Session {
        let email = format!(
            "{}-{}@example.com",
            role.as_str(),
            uuid::Uuid::new_v4().simple()
        );
        let hasher = PasswordHasher::new(HashLimits::default()).unwrap();
        let hash = hasher
            .hash(&Password::parse("password123").unwrap())
            .await
            .unwrap();
        users::insert(
            &self.pool,
            NewUser {
                email: &email,
                name: "Staff",
                password_hash: &hash,
                role,
            },
        )
        .await
        .unwrap();
        let resp = self.login(&email, "password123").await;
        assert_eq!(resp.status(), 200);
        session_from(resp, &email, "password123").await
    }
}

pub async fn session_from(resp: reqwest::Response, email: &str, password: &str) -> Session {
    let body: Value = resp.json().await.unwrap();
    Session {
        id: body["user"]["id"].as_str().unwrap().to_owned(),
        email: email.to_owned(),
        password: password.to_owned(),
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
    }
}

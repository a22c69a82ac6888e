//! The auth and tickets services for the tests of the services that call them: each spawned
//! in process on port 0 with a fresh database of its own, and users with a role signed in
//! through the real auth service.

use docket_auth::{
    domain::{HashLimits, Password, PasswordHasher},
    keys::SigningKeys,
    repo::users::{self, NewUser},
};
use docket_platform::{auth::Role, config::Source};
use serde_json::{Value, json};

use crate::{Backend, TestDb};

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub token: String,
    pub role: Role,
}

/// A running auth service.
pub struct Auth {
    pub base: String,
    /// The auth service's own pool, to add users with a role.
    pub pool: sqlx::AnyPool,
    http: reqwest::Client,
    _db: TestDb,
    _data: tempfile::TempDir,
}

impl Auth {
    /// Spawns the auth service on `backend`, with a fresh signing key and no token leeway.
    pub async fn spawn(backend: Backend) -> Self {
        let db = TestDb::new(backend).await;
        let data = tempfile::tempdir().expect("temp dir");
        let private_pem = SigningKeys::generate_pem().expect("a signing key");
        let settings = docket_auth::Settings::from_source(&Source::from_pairs([
            ("DATABASE_URL", db.url.as_str()),
            ("PORT", "0"),
            ("DATA_DIR", data.path().to_str().expect("a UTF-8 temp dir")),
            ("JWT_PRIVATE_KEY", private_pem.as_str()),
            ("JWT_LEEWAY_SECS", "0"),
        ]))
        .expect("auth settings");
        let app = docket_auth::Application::build(settings)
            .await
            .expect("the auth service starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let pool = app.state().db.pool.clone();
        tokio::spawn(app.run_until(std::future::pending()));
        Self {
            base,
            pool,
            http: crate::http(),
            _db: db,
            _data: data,
        }
    }

    /// Registers a fresh requester.
    pub async fn requester(&self) -> User {
        let email = format!("req-{}@example.com", uuid::Uuid::new_v4().simple());
        let resp = self
            .http
            .post(format!("{}/api/auth/register", self.base))
            .json(&json!({"email": email, "password": "password123", "name": "Requester"}))
            .send()
            .await
            .expect("register");
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.expect("a JSON session");
        User {
            id: body["user"]["id"].as_str().expect("user id").to_owned(),
            token: body["access_token"].as_str().expect("token").to_owned(),
            role: Role::Requester,
        }
    }

    /// A user with `role`: a requester registers; staff are added to the auth database and
    /// sign in.
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
            .expect("a hasher")
            .hash(&Password::parse("password123").expect("a valid password"))
            .await
            .expect("hashing");
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
        .expect("inserting a user");
        let resp = self
            .http
            .post(format!("{}/api/auth/login", self.base))
            .json(&json!({"email": email, "password": "password123"}))
            .send()
            .await
            .expect("login");
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.expect("a JSON session");
        User {
            id: body["user"]["id"].as_str().expect("user id").to_owned(),
            token: body["access_token"].as_str().expect("token").to_owned(),
            role,
        }
    }
}

/// A running tickets service.
pub struct Tickets {
    pub base: String,
    /// The tickets service's database handle (shares its connections).
    pub db: docket_platform::db::Db,
    /// Its `DATABASE_URL`.
    pub db_url: String,
    _db: TestDb,
}

impl Tickets {
    /// Spawns the tickets service on `backend` against the auth service at `auth_url`, with
    /// `settings` added (`ATTACHMENTS_URL`, say).
    pub async fn spawn(backend: Backend, auth_url: &str, settings: &[(&str, &str)]) -> Self {
        let db = TestDb::new(backend).await;
        let mut source = Source::from_pairs([
            ("DATABASE_URL", db.url.as_str()),
            ("PORT", "0"),
            ("AUTH_URL", auth_url),
            ("JWT_LEEWAY_SECS", "0"),
        ]);
        for (k, v) in settings {
            source.set(*k, *v);
        }
        let app = docket_tickets::Application::build(
            docket_tickets::Settings::from_source(&source).expect("tickets settings"),
        )
        .await
        .expect("the tickets service starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let service_db = app.state().db.clone();
        tokio::spawn(app.run_until(std::future::pending()));
        Self {
            base,
            db: service_db,
            db_url: db.url.clone(),
            _db: db,
        }
    }
}

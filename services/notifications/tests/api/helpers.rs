//! Spawning the three services for one test and driving them through their HTTP APIs.

#![allow(dead_code)]

use std::{process::Stdio, time::Duration};

use docket_auth::{
    domain::{HashLimits, Password, PasswordHasher},
    keys::SigningKeys,
    repo::users::{self, NewUser},
};
use docket_platform::{auth::Role, config::Source};
use docket_testkit::{Backend, TestDb, smtp::SmtpSink};
use serde_json::{Value, json};

pub const SERVICE_TOKEN: &str = "test-service-token-0123456789abcdef";
pub const SIGNING_KEY: &str = "test-signing-key-0123456789abcdef012";

pub struct TestApp {
    /// The notifications service (in-process, or the child process of [`Child`]).
    pub base: String,
    pub tickets_base: String,
    pub auth_base: String,
    pub http: reqwest::Client,
    pub auth_pool: sqlx::AnyPool,
    pub sink: SmtpSink,
    pub backend: Backend,
    /// The notifications service's pool (in-process runs only).
    pub pool: Option<sqlx::AnyPool>,
    /// The notifications service's settings, for tests that run it as a process.
    pub env: Vec<(String, String)>,
    _dbs: Vec<TestDb>,
    _data: tempfile::TempDir,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub token: String,
    pub email: String,
    pub role: Role,
}

/// Auth and tickets in this process; the notifications service in this process too unless
/// `in_process` is false (then [`TestApp::start_process`] runs the real binary).
pub async fn spawn(backend: Backend, extra: &[(&str, &str)], in_process: bool) -> TestApp {
    let auth_db = TestDb::new(backend).await;
    let tickets_db = auth_db.another().await;
    let db = auth_db.another().await;
    let data = tempfile::tempdir().unwrap();
    let private_pem = SigningKeys::generate_pem().unwrap();
    let auth = docket_auth::Application::build(
        docket_auth::Settings::from_source(&Source::from_pairs([
            ("DATABASE_URL", auth_db.url.as_str()),
            ("PORT", "0"),
            ("DATA_DIR", data.path().to_str().unwrap()),
            ("JWT_PRIVATE_KEY", private_pem.as_str()),
            ("JWT_LEEWAY_SECS", "0"),
            ("SERVICE_TOKEN", SERVICE_TOKEN),
        ]))
        .unwrap(),
    )
    .await
    .unwrap();
    let auth_base = format!("http://127.0.0.1:{}", auth.port());
    let auth_pool = auth.state().db.pool.clone();
    tokio::spawn(auth.run_until(std::future::pending()));
    let tickets = docket_tickets::Application::build(
        docket_tickets::Settings::from_source(&Source::from_pairs([
            ("DATABASE_URL", tickets_db.url.as_str()),
            ("PORT", "0"),
            ("AUTH_URL", auth_base.as_str()),
            // No attachments service in these tests: nothing here deletes tickets.
            ("ATTACHMENTS_URL", "http://127.0.0.1:9"),
            ("JWT_LEEWAY_SECS", "0"),
            ("SERVICE_TOKEN", SERVICE_TOKEN),
        ]))
        .unwrap(),
    )
    .await
    .unwrap();
    let tickets_base = format!("http://127.0.0.1:{}", tickets.port());
    tokio::spawn(tickets.run_until(std::future::pending()));

    let sink = SmtpSink::start().await;
    let mut env: Vec<(String, String)> = [
        ("DATABASE_URL", db.url.as_str()),
        ("AUTH_URL", auth_base.as_str()),
        ("TICKETS_URL", tickets_base.as_str()),
        ("SERVICE_TOKEN", SERVICE_TOKEN),
        ("NOTIFY_SIGNING_KEY", SIGNING_KEY),
        ("EMAIL_BACKEND", "smtp"),
        ("SMTP_URL", &sink.url()),
        ("EMAIL_FROM", "Docket Support <support@docket.test>"),
        ("PUBLIC_URL", "https://help.docket.test"),
        ("NOTIFY_POLL_MS", "100"),
        ("NOTIFY_RETRY_BASE_MS", "200"),
        ("JWT_LEEWAY_SECS", "0"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    let mut base = String::new();
    let mut pool = None;
    if in_process {
        let settings =
            docket_notifications::Settings::from_source(&Source::from_pairs(env.clone())).unwrap();
        let mut settings = settings;
        settings.common.port = 0;
        let app = docket_notifications::Application::build(settings)
            .await
            .unwrap();
        base = format!("http://127.0.0.1:{}", app.port());
        pool = Some(app.state().db.pool.clone());
        tokio::spawn(app.run_until(std::future::pending()));
    }
    TestApp {
        base,
        tickets_base,
        auth_base,
        http: docket_testkit::http(),
        auth_pool,
        sink,
        backend,
        pool,
        env,
        _dbs: vec![auth_db, tickets_db, db],
        _data: data,
    }
}

/// The notifications service as a child process of the test (the real binary), so a test
/// can kill it with SIGKILL.
pub struct Child {
    pub process: tokio::process::Child,
    pub base: String,
}

impl TestApp {
    pub async fn start_process(&self) -> Child {
        let port = docket_testkit::spare_port();
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_docket-notifications"));
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let process = cmd.spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if let Ok(r) = self.http.get(format!("{base}/health/live")).send().await
                && r.status() == 200
            {
                return Child { process, base };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the notifications service did not start");
    }

    pub async fn user(&self, role: Role, name: &str) -> User {
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
                name,
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
            email,
            role,
        }
    }

    pub async fn create_ticket(&self, as_user: &User, subject: &str) -> Value {
        let resp = self
            .http
            .post(format!("{}/api/tickets", self.tickets_base))
            .bearer_auth(&as_user.token)
            .json(&json!({"subject": subject, "description": "It does not work."}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    pub async fn comment(&self, as_user: &User, ticket: &str, body: &str, internal: bool) {
        let resp = self
            .http
            .post(format!(
                "{}/api/tickets/{ticket}/comments",
                self.tickets_base
            ))
            .bearer_auth(&as_user.token)
            .json(&json!({"body": body, "internal": internal}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    }

    pub async fn patch(&self, as_user: &User, ticket: &str, change: Value) -> Value {
        let current: Value = self
            .http
            .get(format!("{}/api/tickets/{ticket}", self.tickets_base))
            .bearer_auth(&as_user.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let resp = self
            .http
            .patch(format!("{}/api/tickets/{ticket}", self.tickets_base))
            .bearer_auth(&as_user.token)
            .header("If-Match", current["version"].to_string())
            .json(&change)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        resp.json().await.unwrap()
    }

    pub async fn set_preference(
        &self,
        user: &User,
        kind: &str,
        enabled: bool,
    ) -> reqwest::Response {
        self.http
            .put(format!(
                "{}/api/notifications/preferences/{kind}",
                self.base
            ))
            .bearer_auth(&user.token)
            .json(&json!({"enabled": enabled}))
            .send()
            .await
            .unwrap()
    }

    /// Mails to `email` among those received.
    pub fn to(&self, email: &str) -> Vec<docket_testkit::smtp::Received> {
        self.sink
            .messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == email))
            .collect()
    }
}

/// Long enough for the feed's settle window (1 s), a poll and a send.
pub const MAIL_WAIT: Duration = Duration::from_secs(15);
/// How long "nothing more arrives" is watched for.
pub const QUIET: Duration = Duration::from_millis(2500);

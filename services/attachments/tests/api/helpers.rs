//! Spawning the attachments service for one test, with a real auth service and a real
//! tickets service (each with its own database), on local storage or S3 (moto), and calling it.

// Not every test file uses every helper.
#![allow(dead_code)]

use std::{
    io::{Cursor, Write as _},
    path::PathBuf,
};

use docket_attachments::{
    Application, Settings,
    storage::{KEY_PREFIX, S3Storage},
};
use docket_platform::{auth::Role, config::Source};
pub use docket_testkit::services::User;
use docket_testkit::{
    Backend, TestDb,
    services::{Auth, Tickets},
};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    Local,
    S3,
}

/// Runs each listed `async fn name(backend: Backend, storage: StorageKind)` on every pair of
/// database (SQLite, Postgres) and storage (local disk, S3 on moto).
#[macro_export]
macro_rules! matrix_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite_local { $( #[tokio::test] async fn $name() { super::$name(docket_testkit::Backend::Sqlite, $crate::helpers::StorageKind::Local).await } )* }
        mod sqlite_s3 { $( #[tokio::test] async fn $name() { super::$name(docket_testkit::Backend::Sqlite, $crate::helpers::StorageKind::S3).await } )* }
        mod postgres_local { $( #[tokio::test] async fn $name() { super::$name(docket_testkit::Backend::Postgres, $crate::helpers::StorageKind::Local).await } )* }
        mod postgres_s3 { $( #[tokio::test] async fn $name() { super::$name(docket_testkit::Backend::Postgres, $crate::helpers::StorageKind::S3).await } )* }
    };
}

pub struct TestApp {
    pub base: String,
    pub tickets_base: String,
    pub auth_base: String,
    pub http: reqwest::Client,
    pub pool: sqlx::AnyPool,
    pub auth_pool: sqlx::AnyPool,
    pub storage: StorageKind,
    pub upload_dir: PathBuf,
    pub s3: Option<S3Storage>,
    pub backend: Backend,
    pub state: docket_attachments::api::AppState,
    auth: Auth,
    _tickets: Tickets,
    _db: TestDb,
    _data: tempfile::TempDir,
}

pub async fn spawn(backend: Backend, storage: StorageKind) -> TestApp {
    spawn_with(backend, storage, &[]).await
}

/// A bucket of its own on the S3 endpoint.
pub async fn s3_with_bucket(endpoint: &str) -> (S3Storage, String) {
    let bucket = format!("docket-test-{}", uuid::Uuid::new_v4().simple());
    let s3 = S3Storage::new(
        &bucket,
        "us-east-1",
        Some(endpoint),
        std::time::Duration::from_secs(3600),
    )
    .await;
    s3.client()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    (s3, bucket)
}

/// `extra` overrides the attachments service's settings (e.g. `MAX_UPLOAD_BYTES`).
pub async fn spawn_with(backend: Backend, storage: StorageKind, extra: &[(&str, &str)]) -> TestApp {
    let auth = Auth::spawn(backend).await;
    let (auth_base, auth_pool) = (auth.base.clone(), auth.pool.clone());
    let db = TestDb::new(backend).await;
    let data = tempfile::tempdir().unwrap();

    // Tickets and attachments name each other: bind attachments' port first and keep it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let attachments_url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let tickets = Tickets::spawn(
        backend,
        &auth_base,
        &[("ATTACHMENTS_URL", attachments_url.as_str())],
    )
    .await;
    let tickets_base = tickets.base.clone();

    let upload_dir = data.path().join("uploads");
    let mut source = Source::from_pairs([
        ("DATABASE_URL", db.url.as_str()),
        ("AUTH_URL", auth_base.as_str()),
        ("TICKETS_URL", tickets_base.as_str()),
        ("UPLOAD_DIR", upload_dir.to_str().unwrap()),
        ("JWT_LEEWAY_SECS", "0"),
    ]);
    let mut s3 = None;
    if storage == StorageKind::S3 {
        let endpoint = docket_testkit::aws_endpoint().await;
        let (client, bucket) = s3_with_bucket(&endpoint).await;
        source.set("STORAGE_TYPE", "s3");
        source.set("S3_ATTACHMENTS_BUCKET", bucket);
        source.set("AWS_ENDPOINT_URL", endpoint);
        s3 = Some(client);
    }
    for (k, v) in extra {
        source.set(*k, *v);
    }
    let app = Application::build_on(Settings::from_source(&source).unwrap(), listener)
        .await
        .unwrap();
    let pool = app.state().db.pool.clone();
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        base: attachments_url,
        tickets_base,
        auth_base,
        http: docket_testkit::http(),
        pool,
        auth_pool,
        storage,
        upload_dir,
        s3,
        backend,
        state,
        auth,
        _tickets: tickets,
        _db: db,
        _data: data,
    }
}

/// One part of a multipart body.
pub struct Part {
    pub field: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// A raw connection to the service and the head of an upload to `ticket` as `token`, framed by
/// `framing` (`Content-Length: N`, which may announce more than will be sent, or
/// `Transfer-Encoding: chunked`): for tests of what happens before a body has all arrived.
pub async fn raw_upload(
    app: &TestApp,
    ticket: &str,
    token: &str,
    framing: &str,
) -> (tokio::net::TcpStream, Vec<u8>) {
    let stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /api/tickets/{ticket}/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {}\r\n{framing}\r\n\r\n",
        content_type(),
    );
    (stream, head.into_bytes())
}

pub fn file(filename: &str, content_type: Option<&str>, bytes: &[u8]) -> Part {
    Part {
        field: "file".into(),
        filename: filename.into(),
        content_type: content_type.map(str::to_owned),
        bytes: bytes.to_vec(),
    }
}

pub const BOUNDARY: &str = "docket-test-boundary-7f3a9c";

/// The opening of one part, up to its bytes.
pub fn part_head(p: &Part) -> Vec<u8> {
    let mut out = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\n",
        p.field, p.filename
    );
    if let Some(ct) = &p.content_type {
        out.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

pub fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for p in parts {
        body.extend(part_head(p));
        body.extend(&p.bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").into_bytes());
    body
}

pub fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A small valid PNG (1x1, with a made-up tail to make it unique).
pub fn png() -> Vec<u8> {
    let mut b = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    b.extend_from_slice(b"\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89");
    b.extend(uuid::Uuid::new_v4().as_bytes());
    b
}

pub fn pdf() -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {}\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        uuid::Uuid::new_v4()
    )
    .into_bytes()
}

/// A PDF of exactly `n` bytes.
pub fn pdf_of(n: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.4\n".to_vec();
    b.resize(n, b'x');
    b
}

/// A ZIP (stored, no compression) of these entries.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// An OLE2 compound file with these root streams, each holding `bytes`.
pub fn ole_of(streams: &[&str], bytes: &[u8]) -> Vec<u8> {
    let mut c = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    for name in streams {
        c.create_stream(name).unwrap().write_all(bytes).unwrap();
    }
    c.flush().unwrap();
    c.into_inner().into_inner()
}

pub const CONTENT_TYPES: (&str, &[u8]) = ("[Content_Types].xml", b"<Types/>");

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn requester(&self) -> User {
        self.auth.requester().await
    }

    /// Creates a user with `role` in the auth database and signs it in.
    pub async fn user_with_role(&self, role: Role) -> User {
        self.auth.user_with_role(role).await
    }

    /// Opens a ticket as `user` in the real tickets service; returns its id.
    pub async fn ticket(&self, user: &User) -> String {
        let resp = self
            .http
            .post(format!("{}/api/tickets", self.tickets_base))
            .bearer_auth(&user.token)
            .json(&json!({"subject": "Printer on fire", "description": "It does not work."}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn upload(&self, user: &User, ticket: &str, parts: &[Part]) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/api/tickets/{ticket}/attachments")))
            .bearer_auth(&user.token)
            .header("content-type", content_type())
            .body(multipart(parts))
            .send()
            .await
            .unwrap()
    }

    /// Uploads one file that must be accepted; returns its attachment.
    pub async fn upload_ok(&self, user: &User, ticket: &str, part: Part) -> Value {
        let resp = self.upload(user, ticket, &[part]).await;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body[0].clone()
    }

    pub async fn get(&self, path: &str, user: &User) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str, user: &User) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap()
    }

    /// Downloads an attachment's bytes, following an S3 redirect; returns the bytes and the
    /// Content-Disposition of the answer that carried them.
    pub async fn download(&self, user: &User, id: &str) -> (Vec<u8>, String) {
        let resp = self
            .get(&format!("/api/attachments/{id}/download"), user)
            .await;
        let resp = match self.storage {
            StorageKind::Local => {
                assert_eq!(resp.status(), 200);
                resp
            }
            StorageKind::S3 => {
                assert_eq!(resp.status(), 302);
                let location = resp.headers()["location"].to_str().unwrap().to_owned();
                assert!(location.contains("X-Amz-Signature"), "{location}");
                let resp = self.http.get(&location).send().await.unwrap();
                assert_eq!(resp.status(), 200);
                resp
            }
        };
        let disposition = resp
            .headers()
            .get("content-disposition")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (resp.bytes().await.unwrap().to_vec(), disposition)
    }

    /// Rows in any state.
    pub async fn rows(&self) -> i64 {
        docket_attachments::repo::attachments::count_all(&self.pool)
            .await
            .unwrap()
    }

    /// Keys of every stored object.
    pub async fn objects(&self) -> Vec<String> {
        match &self.s3 {
            None => std::fs::read_dir(self.upload_dir.join(KEY_PREFIX))
                .unwrap()
                .map(|e| format!("{KEY_PREFIX}{}", e.unwrap().file_name().to_string_lossy()))
                .collect(),
            Some(s3) => s3
                .client()
                .list_objects_v2()
                .bucket(s3.bucket())
                .send()
                .await
                .unwrap()
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect(),
        }
    }

    /// Files left in the spool folder.
    pub fn spool_files(&self) -> usize {
        std::fs::read_dir(self.upload_dir.join("tmp"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Waits (up to 10 s) until the spool folder is empty; false if it never is.
    pub async fn spool_drains(&self) -> bool {
        for _ in 0..100 {
            if self.spool_files() == 0 {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }

    /// Nothing stored anywhere: no row, no object, no spool file.
    pub async fn assert_nothing_kept(&self) {
        assert_eq!(self.rows().await, 0, "rows left");
        assert_eq!(self.objects().await, Vec::<String>::new(), "objects left");
        assert_eq!(self.spool_files(), 0, "spool files left");
    }

    /// The kinds of a ticket's events, as its requester sees them.
    pub async fn event_kinds(&self, user: &User, ticket: &str) -> Vec<String> {
        let resp = self
            .http
            .get(format!(
                "{}/api/tickets/{ticket}/events?limit=100",
                self.tickets_base
            ))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect()
    }
}

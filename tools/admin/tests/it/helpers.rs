//! A Docket stack for one test (auth, tickets and attachments, each on a database of its own,
//! storage on a local folder or an S3 bucket on moto), its seeding through the HTTP APIs, and
//! fingerprints of databases and storage that do not use the tool's own checksums.

use std::{collections::BTreeMap, path::PathBuf};

use aws_sdk_s3::Client;
use docket_admin::{db::DbUrl, objects::Storage};
use docket_platform::config::Source;
use docket_testkit::{Backend, TestDb};
use serde_json::{Value, json};
use sqlx::Connection as _;
use tokio::{sync::oneshot, task::JoinHandle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    Local,
    S3,
}

/// Where one stack keeps its data: three databases and one storage. Tests wipe it and restore
/// into it, or start a second stack on another one.
pub struct Place {
    pub dbs: Vec<TestDb>,
    pub storage: StorageKind,
    pub upload_dir: PathBuf,
    pub bucket: String,
    _dir: tempfile::TempDir,
}

pub async fn s3() -> Client {
    let endpoint = docket_testkit::aws_endpoint().await;
    // SAFETY-free: the tool and the services read these; every test sets the same value.
    set_env("AWS_ENDPOINT_URL", &endpoint);
    docket_admin::location::s3_client().await
}

#[allow(unsafe_code)]
fn set_env(k: &str, v: &str) {
    if std::env::var(k).ok().as_deref() != Some(v) {
        // SAFETY: every test of this binary sets the same value before its first AWS client.
        unsafe { std::env::set_var(k, v) };
    }
}

pub async fn new_bucket(client: &Client) -> String {
    let bucket = format!("docket-admin-{}", uuid::Uuid::new_v4().simple());
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    bucket
}

impl Place {
    pub async fn new(backend: Backend, storage: StorageKind) -> Self {
        let first = TestDb::new(backend).await;
        let dbs = vec![first.another().await, first.another().await, first];
        let dir = tempfile::tempdir().unwrap();
        let bucket = if storage == StorageKind::S3 {
            new_bucket(&s3().await).await
        } else {
            String::new()
        };
        Self {
            dbs,
            storage,
            upload_dir: dir.path().join("uploads"),
            bucket,
            _dir: dir,
        }
    }

    /// auth, tickets, attachments: the order of the tool's services.
    pub fn urls(&self) -> Vec<DbUrl> {
        self.dbs
            .iter()
            .map(|d| DbUrl::parse(&d.url).unwrap())
            .collect()
    }

    pub fn url(&self, service: usize) -> &str {
        &self.dbs[service].url
    }

    pub async fn tool_storage(&self) -> Storage {
        match self.storage {
            StorageKind::Local => Storage::Local(self.upload_dir.clone()),
            StorageKind::S3 => Storage::S3 {
                client: s3().await,
                bucket: self.bucket.clone(),
            },
        }
    }

    /// Removes every database's contents and every object (the databases themselves stay:
    /// a SQLite file is deleted with its companions, a Postgres schema dropped and made again).
    pub async fn wipe(&self) {
        for i in 0..self.dbs.len() {
            self.wipe_db(i).await;
        }
        self.wipe_storage().await;
    }

    /// Empties one database (0 auth, 1 tickets, 2 attachments).
    pub async fn wipe_db(&self, i: usize) {
        {
            let db = &self.dbs[i];
            match DbUrl::parse(&db.url).unwrap() {
                DbUrl::Sqlite(path) => {
                    for p in std::iter::once(path.clone())
                        .chain(docket_admin::db::sqlite_companions(&path))
                    {
                        let _ = std::fs::remove_file(p);
                    }
                }
                DbUrl::Postgres(url) => {
                    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                    let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
                        .fetch_one(&mut conn)
                        .await
                        .unwrap();
                    sqlx::raw_sql(&format!(
                        r#"DROP SCHEMA "{schema}" CASCADE; CREATE SCHEMA "{schema}""#
                    ))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                }
            }
        }
    }

    pub async fn wipe_storage(&self) {
        match self.storage {
            StorageKind::Local => {
                let _ = std::fs::remove_dir_all(&self.upload_dir);
            }
            StorageKind::S3 => {
                let client = s3().await;
                let keys = list_bucket(&client, &self.bucket, "").await;
                delete_objects(&client, &self.bucket, &keys).await;
            }
        }
    }
}

pub async fn list_bucket(client: &Client, bucket: &str, prefix: &str) -> Vec<String> {
    let out = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

pub async fn delete_objects(client: &Client, bucket: &str, keys: &[String]) {
    for key in keys {
        client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    }
}

/// Running services on a [`Place`].
pub struct Stack {
    pub auth: String,
    pub tickets: String,
    pub attachments: String,
    pub http: reqwest::Client,
    stops: Vec<(oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>)>,
}

fn serve<S: docket_platform::server::Service + 'static>(
    app: docket_platform::server::Application<S>,
) -> (oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>) {
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    (tx, handle)
}

impl Stack {
    /// Starts the three services on `place`, signing with `key` (a stack started again on
    /// restored or migrated data keeps accepting the tokens of the first).
    pub async fn start(place: &Place, key: &str) -> Self {
        docket_testkit::init_logs();
        let data = place.upload_dir.parent().unwrap().join("auth-data");
        let common = [
            ("PORT", "0"),
            ("SHUTDOWN_DRAIN_SECS", "1"),
            ("JWT_LEEWAY_SECS", "0"),
        ];
        let mut source = Source::from_pairs(common);
        source.set("DATABASE_URL", place.url(0));
        source.set("DATA_DIR", data.to_str().unwrap());
        source.set("JWT_PRIVATE_KEY", key);
        source.set("COOKIE_SECURE", "false");
        let auth =
            docket_auth::Application::build(docket_auth::Settings::from_source(&source).unwrap())
                .await
                .unwrap();
        let auth_base = format!("http://127.0.0.1:{}", auth.port());
        let mut stops = vec![serve(auth)];

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let attachments_base =
            format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let mut source = Source::from_pairs(common);
        source.set("DATABASE_URL", place.url(1));
        source.set("AUTH_URL", auth_base.as_str());
        source.set("ATTACHMENTS_URL", attachments_base.as_str());
        let tickets = docket_tickets::Application::build(
            docket_tickets::Settings::from_source(&source).unwrap(),
        )
        .await
        .unwrap();
        let tickets_base = format!("http://127.0.0.1:{}", tickets.port());
        stops.push(serve(tickets));

        let mut source = Source::from_pairs(common);
        source.set("DATABASE_URL", place.url(2));
        source.set("AUTH_URL", auth_base.as_str());
        source.set("TICKETS_URL", tickets_base.as_str());
        source.set("UPLOAD_DIR", place.upload_dir.to_str().unwrap());
        source.set("SWEEP_INTERVAL_SECS", "0");
        if place.storage == StorageKind::S3 {
            let _ = s3().await;
            source.set("STORAGE_TYPE", "s3");
            source.set("S3_ATTACHMENTS_BUCKET", place.bucket.as_str());
            source.set(
                "AWS_ENDPOINT_URL",
                std::env::var("AWS_ENDPOINT_URL").unwrap(),
            );
        }
        let attachments = docket_attachments::Application::build_on(
            docket_attachments::Settings::from_source(&source).unwrap(),
            listener,
        )
        .await
        .unwrap();
        stops.push(serve(attachments));
        Self {
            auth: auth_base,
            tickets: tickets_base,
            attachments: attachments_base,
            http: docket_testkit::http(),
            stops,
        }
    }

    /// Stops every service and waits until each has.
    pub async fn stop(self) {
        for (tx, handle) in self.stops {
            let _ = tx.send(());
            handle.await.unwrap().unwrap();
        }
    }

    pub async fn get(&self, url: String, token: &str) -> Value {
        let resp = self.http.get(&url).bearer_auth(token).send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 200, "GET {url}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    async fn send(&self, req: reqwest::RequestBuilder, want: u16) -> Value {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(status, want, "{text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// The bytes of an attachment, following S3's redirect.
    pub async fn download(&self, id: &str, token: &str) -> Vec<u8> {
        let resp = self
            .http
            .get(format!(
                "{}/api/attachments/{id}/download",
                self.attachments
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let resp = if resp.status() == 302 {
            let to = resp.headers()["location"].to_str().unwrap().to_owned();
            reqwest::get(to).await.unwrap()
        } else {
            resp
        };
        assert_eq!(resp.status(), 200);
        resp.bytes().await.unwrap().to_vec()
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub email: String,
    pub token: String,
}

/// What [`seed`] made, to look at afterwards.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub requesters: Vec<User>,
    pub agent: User,
    pub admin: User,
    pub tickets: Vec<String>,
    pub attachments: Vec<(String, Vec<u8>)>,
}

/// A PDF the attachments service accepts, unique by `n`.
pub fn pdf(n: usize) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj<< /N {n} >>endobj\n% filler {}\ntrailer<<>>\n%%EOF\n",
        "x".repeat(n * 37)
    )
    .into_bytes()
}

const BOUNDARY: &str = "docket-admin-test-boundary";

fn multipart(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .into_bytes(),
        );
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").into_bytes());
    body
}

impl Stack {
    async fn register(&self, who: &str) -> User {
        let email = format!("{who}-{}@example.com", uuid::Uuid::new_v4().simple());
        let body = self
            .send(
                self.http
                    .post(format!("{}/api/auth/register", self.auth))
                    .json(&json!({"email": email, "password": "password123", "name": who})),
                201,
            )
            .await;
        User {
            email,
            token: body["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Opens a ticket as the holder of `token`.
    pub async fn open_ticket(&self, token: &str, subject: &str) -> Value {
        let body = json!({"subject": subject, "description": "written after the restore"});
        self.create(format!("{}/api/tickets", self.tickets), token, body)
            .await
    }

    /// POSTs `body` as the holder of `token`, expecting 201 Created.
    async fn create(&self, url: String, token: &str, body: Value) -> Value {
        self.send(self.http.post(url).bearer_auth(token).json(&body), 201)
            .await
    }

    pub async fn login(&self, email: &str) -> String {
        let body = self
            .send(
                self.http
                    .post(format!("{}/api/auth/login", self.auth))
                    .json(&json!({"email": email, "password": "password123"})),
                200,
            )
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Registers through the API, then makes the user `role` in the auth database (the one
    /// step with no public API: `docket-auth create-user` does the same) and signs in again.
    async fn staff(&self, place: &Place, who: &str, role: &str) -> User {
        let user = self.register(who).await;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(place.url(0)).await.unwrap();
        sqlx::query("UPDATE users SET role = $1 WHERE email = $2")
            .bind(role)
            .bind(&user.email)
            .execute(&mut conn)
            .await
            .unwrap();
        let _ = conn.close().await;
        let token = self.login(&user.email).await;
        User { token, ..user }
    }
}

/// A place on `backend` and `storage` seeded through the APIs with `tickets` tickets, its
/// stack stopped again.
pub async fn seeded_place(
    backend: Backend,
    storage: StorageKind,
    tickets: usize,
) -> (Place, Seeded) {
    let place = Place::new(backend, storage).await;
    let stack = Stack::start(&place, &key_pem()).await;
    let seeded = seed(&stack, &place, tickets).await;
    stack.stop().await;
    (place, seeded)
}

/// Users, tickets with public comments and internal notes, field changes (events) and
/// attachments, all through the services' HTTP APIs.
pub async fn seed(stack: &Stack, place: &Place, tickets: usize) -> Seeded {
    let requesters = vec![stack.register("alice").await, stack.register("bob").await];
    let agent = stack.staff(place, "agent", "agent").await;
    let admin = stack.staff(place, "admin", "admin").await;
    let mut ids = Vec::new();
    let mut attachments = Vec::new();
    for i in 0..tickets {
        let owner = &requesters[i % 2];
        let t = stack
            .create(
                format!("{}/api/tickets", stack.tickets),
                &owner.token,
                json!({
                    "subject": format!("printer {i} on fire"),
                    "description": format!("smoke number{i} everywhere, ünïcode ✓"),
                }),
            )
            .await;
        let id = t["id"].as_str().unwrap().to_owned();
        let comments = format!("{}/api/tickets/{id}/comments", stack.tickets);
        let public = json!({"body": format!("still burning publicword{i}")});
        stack.create(comments.clone(), &owner.token, public).await;
        let note = json!({"body": format!("secretword{i} between staff"), "internal": true});
        stack.create(comments, &agent.token, note).await;
        if i % 2 == 0 {
            stack
                .send(
                    stack
                        .http
                        .patch(format!("{}/api/tickets/{id}", stack.tickets))
                        .bearer_auth(&agent.token)
                        .json(&json!({"version": t["version"], "status": "in_progress", "priority": "high"})),
                    200,
                )
                .await;
        }
        if i % 3 != 2 {
            let files = vec![
                (format!("report {i}.pdf"), pdf(i)),
                (format!("scan-{i}.pdf"), pdf(i + 100)),
            ];
            let stored = stack
                .send(
                    stack
                        .http
                        .post(format!(
                            "{}/api/tickets/{id}/attachments",
                            stack.attachments
                        ))
                        .bearer_auth(&owner.token)
                        .header(
                            "content-type",
                            format!("multipart/form-data; boundary={BOUNDARY}"),
                        )
                        .body(multipart(&files)),
                    201,
                )
                .await;
            for (item, (_, bytes)) in stored.as_array().unwrap().iter().zip(files) {
                attachments.push((item["id"].as_str().unwrap().to_owned(), bytes));
            }
        }
        ids.push(id);
    }
    Seeded {
        requesters,
        agent,
        admin,
        tickets: ids,
        attachments,
    }
}

/// Every row of every table but sqlx's own, as text, sorted: SQLite through `quote()` of each
/// column, Postgres through the row's own text form (every column, search documents too).
pub async fn db_rows(url: &str) -> BTreeMap<String, Vec<String>> {
    let sqlite = matches!(DbUrl::parse(url).unwrap(), DbUrl::Sqlite(_));
    let tables = if sqlite {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations'"
    } else {
        "SELECT relname::text FROM pg_class WHERE relnamespace = current_schema()::regnamespace \
         AND relkind = 'r' AND relname <> '_sqlx_migrations'"
    };
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(tables)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for t in tables {
        let select = if sqlite {
            let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                .bind(&t)
                .fetch_all(&mut conn)
                .await
                .unwrap();
            let expr = cols
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || ',' || ");
            format!("SELECT {expr} FROM \"{t}\"")
        } else {
            format!("SELECT x::text FROM \"{t}\" x")
        };
        let mut rows: Vec<String> = sqlx::query_scalar(&select)
            .fetch_all(&mut conn)
            .await
            .unwrap();
        rows.sort();
        out.insert(t, rows);
    }
    let _ = conn.close().await;
    out
}

pub async fn place_rows(place: &Place) -> Vec<BTreeMap<String, Vec<String>>> {
    let mut all = Vec::new();
    for db in &place.dbs {
        all.push(db_rows(&db.url).await);
    }
    all
}

/// Every object under `attachments/`, key → SHA-256 of its bytes.
pub async fn objects(place: &Place) -> BTreeMap<String, String> {
    let storage = place.tool_storage().await;
    let mut out = BTreeMap::new();
    for key in storage.list().await.unwrap() {
        let bytes = storage.get(&key).await.unwrap().unwrap().bytes;
        out.insert(key, docket_admin::checksum::sha256_hex(&bytes));
    }
    out
}

pub fn row_count(rows: &[BTreeMap<String, Vec<String>>]) -> usize {
    rows.iter().flat_map(|m| m.values()).map(Vec::len).sum()
}

pub fn key_pem() -> String {
    docket_auth::keys::SigningKeys::generate_pem().unwrap()
}

/// Asserts two [`place_rows`] are the same, naming the first table and row that differ.
pub fn assert_same_rows(
    got: &[BTreeMap<String, Vec<String>>],
    want: &[BTreeMap<String, Vec<String>>],
    what: &str,
) {
    assert_eq!(got.len(), want.len(), "{what}: databases");
    for (db, (g, w)) in got.iter().zip(want).enumerate() {
        let tables = |m: &BTreeMap<String, Vec<String>>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(tables(g), tables(w), "{what}: tables of database {db}");
        for (table, rows) in w {
            let found = &g[table];
            if found != rows {
                let missing = rows.iter().find(|r| !found.contains(r));
                let extra = found.iter().find(|r| !rows.contains(r));
                panic!(
                    "{what}: table {table}: {} rows, want {}; first missing {missing:?}, first \
                     extra {extra:?}",
                    found.len(),
                    rows.len()
                );
            }
        }
    }
}

/// Runs one statement on a database of a place (Any driver, either backend).
pub async fn execute(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query(sql).execute(&mut conn).await.unwrap();
    let _ = conn.close().await;
}

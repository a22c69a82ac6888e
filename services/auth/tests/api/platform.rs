//! The shared request pipeline, seen through the auth service.

use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::Value;

use crate::helpers::spawn;

backend_tests!(
    unknown_routes_wrong_methods_and_huge_bodies_are_problems,
    the_request_id_is_echoed_or_generated,
    health_reports_each_check,
    migrate_makes_the_schema_once_and_a_service_that_may_not_migrate_refuses_an_old_one,
    metrics_parse_as_prometheus_text_and_count_each_request,
);

async fn unknown_routes_wrong_methods_and_huge_bodies_are_problems(backend: Backend) {
    let app = spawn(backend).await;
    assert_problem(
        app.http
            .get(app.url("/api/nothing-here"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_problem(
        app.http
            .delete(app.url("/api/auth/login"))
            .send()
            .await
            .unwrap(),
        405,
    )
    .await;
    let huge = format!(
        "{{\"email\":\"a@example.com\",\"password\":\"{}\",\"name\":\"x\"}}",
        "x".repeat(70_000)
    );
    let resp = app
        .http
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body(huge.clone())
        .send()
        .await
        .unwrap();
    assert_problem(resp, 413).await;
    // Without Content-Length (chunked), the limit still holds.
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(huge.into_bytes())]);
    let resp = app
        .http
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 413).await;
}

async fn the_request_id_is_echoed_or_generated(backend: Backend) {
    let app = spawn(backend).await;
    let resp = app
        .http
        .get(app.url("/api/auth/me"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let body = assert_problem(resp, 401).await;
    assert_eq!(body["request_id"], "abc-123");
    // An id with unsafe characters is replaced, not echoed.
    let resp = app
        .http
        .get(app.url("/health/live"))
        .header("x-request-id", "<script>")
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

async fn health_reports_each_check(backend: Backend) {
    let app = spawn(backend).await;
    let resp = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(
        matches!(body["status"].as_str(), Some("healthy" | "degraded")),
        "{body}"
    );
    let names: Vec<&str> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in ["database", "memory", "disk"] {
        assert!(names.contains(&name), "{names:?}");
    }
    assert!(body["checks"][0]["duration_ms"].is_number());
    assert_eq!(
        app.http
            .get(app.url("/health/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http
            .get(app.url("/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// `docket-auth migrate` (the real binary, as the deploy's one-off task runs it) on an empty
/// database applies every migration and a second run applies nothing; a service started with
/// `MIGRATE_ON_START=false` refuses the empty database with a message saying what to run, and
/// starts on the migrated one.
async fn migrate_makes_the_schema_once_and_a_service_that_may_not_migrate_refuses_an_old_one(
    backend: Backend,
) {
    let db = docket_testkit::TestDb::new(backend).await;
    let data = tempfile::tempdir().unwrap();
    let settings = |migrate_on_start: &str| {
        docket_auth::Settings::from_source(&docket_platform::config::Source::from_pairs([
            ("DATABASE_URL", db.url.as_str()),
            ("PORT", "0"),
            ("DATA_DIR", data.path().to_str().unwrap()),
            ("MIGRATE_ON_START", migrate_on_start),
        ]))
        .unwrap()
    };
    let refused = docket_auth::Application::build(settings("false"))
        .await
        .err()
        .expect("an unmigrated database is refused");
    let message = format!("{refused:#}");
    assert!(
        message.contains("schema is not current") && message.contains("`migrate`"),
        "{message}"
    );

    let migrate = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_docket-auth"))
            .arg("migrate")
            .env_clear()
            .env("DATABASE_URL", &db.url)
            .env("LOG_LEVEL", "warn")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let first = migrate();
    assert!(first.contains("applied "), "{first}");
    let second = migrate();
    assert!(second.contains("nothing applied"), "{second}");

    // A later build's migration (what a rollback finds): nothing applied, and the service
    // still starts on that schema.
    {
        use sqlx::Connection as _;
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'a later build', TRUE, $1, 0)",
        )
        .bind(vec![0u8; 4])
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let rollback = migrate();
    assert!(rollback.contains("nothing applied"), "{rollback}");

    let app = docket_auth::Application::build(settings("false"))
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    let ready = docket_testkit::http()
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

/// `GET /metrics` is Prometheus text, and the request counter and latency histogram of a route
/// and status move by one with each request; the database pools are reported.
async fn metrics_parse_as_prometheus_text_and_count_each_request(backend: Backend) {
    let app = spawn(backend).await;
    let sample = |samples: &[(String, f64)], name: &str, needles: &[&str]| {
        samples
            .iter()
            .find(|(s, _)| s.starts_with(name) && needles.iter().all(|n| s.contains(n)))
            .map_or(0.0, |(_, v)| *v)
    };
    let scrape = || async {
        let resp = app.http.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/plain"), "{kind}");
        docket_platform::metrics::parse_text(&resp.text().await.unwrap()).unwrap()
    };
    let login = [
        r#"route="/api/auth/login""#,
        r#"status="401""#,
        r#"method="POST""#,
    ];
    let before = scrape().await;
    for _ in 0..3 {
        let resp = app
            .post_json(
                "/api/auth/login",
                &serde_json::json!({"email": "nobody@example.com", "password": "wrong password"}),
            )
            .await;
        assert_eq!(resp.status(), 401);
    }
    let after = scrape().await;
    for name in [
        "docket_http_requests_total{",
        "docket_http_request_duration_seconds_count{",
    ] {
        assert_eq!(
            sample(&after, name, &login) - sample(&before, name, &login),
            3.0,
            "{name}"
        );
    }
    assert!(
        sample(
            &after,
            "docket_http_request_duration_seconds_bucket{",
            &[login[0], login[1], r#"le="+Inf""#]
        ) >= 3.0,
        "the +Inf bucket holds every request"
    );
    assert!(sample(&after, "docket_db_connections_max{", &[r#"service="auth""#]) >= 1.0);
    assert!(after.iter().any(
        |(s, _)| s.starts_with("docket_db_connections{") && s.contains(r#"pool="statements""#)
    ));
}

//! Health and the shared pipeline, seen through the attachments service.

use docket_testkit::{Backend, backend_tests};
use serde_json::Value;

use crate::helpers::{StorageKind, spawn};

backend_tests!(
    health_checks_the_database_and_the_storage_backend,
    metrics_count_the_bytes_uploaded_and_the_requests,
    migrate_makes_the_schema_and_a_service_that_may_not_migrate_refuses_an_empty_database,
);

async fn health_checks_the_database_and_the_storage_backend(b: Backend) {
    for storage in [StorageKind::Local, StorageKind::S3] {
        let app = spawn(b, storage).await;
        let resp = app.http.get(app.url("/health")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        let names: Vec<_> = body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        assert!(names.contains(&"storage".to_owned()), "{names:?}");
        assert!(names.contains(&"database".to_owned()), "{names:?}");
        let ready = app.http.get(app.url("/health/ready")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let doc = app
            .http
            .get(app.url("/openapi/attachments.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(doc.status(), 200);
    }
}

/// `GET /metrics` parses as Prometheus text; an upload moves the stored bytes and files by what
/// was stored, and the upload route's request counter by one.
async fn metrics_count_the_bytes_uploaded_and_the_requests(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let scrape = || async {
        let resp = app.http.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        docket_platform::metrics::parse_text(&resp.text().await.unwrap()).unwrap()
    };
    let value = |samples: &[(String, f64)], needles: &[&str]| {
        samples
            .iter()
            .find(|(s, _)| needles.iter().all(|n| s.contains(n)))
            .map_or(0.0, |(_, v)| *v)
    };
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let before = scrape().await;
    let png = crate::helpers::png();
    app.upload_ok(
        &user,
        &ticket,
        crate::helpers::file("a.png", Some("image/png"), &png),
    )
    .await;
    let after = scrape().await;
    let delta = |needles: &[&str]| value(&after, needles) - value(&before, needles);
    assert_eq!(delta(&["docket_upload_bytes_total"]), png.len() as f64);
    assert_eq!(delta(&["docket_upload_files_total"]), 1.0);
    assert_eq!(
        delta(&[
            "docket_http_requests_total{",
            r#"route="/api/tickets/{id}/attachments""#,
            r#"method="POST""#,
            r#"status="201""#,
        ]),
        1.0
    );
}

/// `docket-attachments migrate` (the binary) makes the schema once; with
/// `MIGRATE_ON_START=false` the service refuses the database before it and starts after it.
async fn migrate_makes_the_schema_and_a_service_that_may_not_migrate_refuses_an_empty_database(
    b: Backend,
) {
    let db = docket_testkit::TestDb::new(b).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = || {
        docket_attachments::Settings::from_source(&docket_platform::config::Source::from_pairs([
            ("DATABASE_URL", db.url.as_str()),
            ("PORT", "0"),
            ("UPLOAD_DIR", dir.path().to_str().unwrap()),
            ("MIGRATE_ON_START", "false"),
            ("SWEEP_INTERVAL_SECS", "0"),
        ]))
        .unwrap()
    };
    let refused = docket_attachments::Application::build(settings())
        .await
        .err()
        .expect("an unmigrated database is refused");
    assert!(
        format!("{refused:#}").contains("schema is not current"),
        "{refused:#}"
    );
    let migrate = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_docket-attachments"))
            .arg("migrate")
            .env_clear()
            .env("DATABASE_URL", &db.url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(migrate().contains("applied "));
    assert!(migrate().contains("nothing applied"));
    docket_attachments::Application::build(settings())
        .await
        .unwrap();
}

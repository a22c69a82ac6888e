//! Health and the shared pipeline, seen through the attachments service.

use docket_testkit::{Backend, backend_tests};
use serde_json::Value;

use crate::helpers::{StorageKind, spawn};

backend_tests!(health_checks_the_database_and_the_storage_backend);

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

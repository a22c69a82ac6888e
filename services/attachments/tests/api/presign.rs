//! Download URLs signed for a public S3 endpoint (`S3_PRESIGN_ENDPOINT_URL`), as under compose,
//! where the service reaches LocalStack inside the network and the browser on the host.

use docket_testkit::{Backend, backend_tests};

use crate::helpers::{StorageKind, file, png, spawn_with};

backend_tests!(a_download_redirects_to_the_presign_endpoint_and_its_bytes_are_there);

async fn a_download_redirects_to_the_presign_endpoint_and_its_bytes_are_there(b: Backend) {
    // The same S3 under another name: "localhost" where the service uses 127.0.0.1.
    let endpoint = docket_testkit::aws_endpoint().await;
    let public = endpoint.replacen("127.0.0.1", "localhost", 1);
    assert_ne!(
        public, endpoint,
        "the S3 endpoint is on 127.0.0.1: {endpoint}"
    );
    let app = spawn_with(b, StorageKind::S3, &[("S3_PRESIGN_ENDPOINT_URL", &public)]).await;
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let bytes = png();
    let resp = app
        .upload(&user, &ticket, &[file("a.png", None, &bytes)])
        .await;
    assert_eq!(resp.status(), 201);
    let body: serde_json::Value = resp.json().await.unwrap();
    let id = body[0]["id"].as_str().unwrap();

    let resp = app
        .http
        .get(app.url(&format!("/api/attachments/{id}/download")))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{public}/")), "{location}");
    // Signed for that host, so it is followed as it is.
    let got = reqwest::get(&location).await.unwrap();
    assert_eq!(got.status(), 200, "{location}");
    assert_eq!(got.bytes().await.unwrap().as_ref(), bytes.as_slice());
}

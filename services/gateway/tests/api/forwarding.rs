use docket_testkit::assert_problem;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::spawn_gateway;

#[tokio::test]
async fn the_auth_flow_works_end_to_end_through_the_gateway() {
    let gw = spawn_gateway(&[]).await;
    let resp = gw
        .http
        .post(gw.url("/api/auth/register"))
        .header("x-request-id", "trace-me-1")
        .json(&json!({"email": "gw@example.com", "password": "password123", "name": "Gee"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["x-request-id"], "trace-me-1");
    assert!(
        resp.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("docket_refresh=")
    );
    let session: Value = resp.json().await.unwrap();
    let access = session["access_token"].as_str().unwrap();
    let me: Value = gw
        .http
        .get(gw.url("/api/auth/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "gw@example.com");
    let refreshed = gw
        .http
        .post(gw.url("/api/auth/refresh"))
        .header(
            "cookie",
            format!(
                "docket_refresh={}",
                session["refresh_token"].as_str().unwrap()
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.unwrap();
    let logout = gw
        .http
        .post(gw.url("/api/auth/logout"))
        .bearer_auth(refreshed["access_token"].as_str().unwrap())
        .json(&json!({"refresh_token": refreshed["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    // Errors from behind the gateway keep their problem shape and request id.
    let bad = gw
        .http
        .post(gw.url("/api/auth/login"))
        .json(&json!({"email": "gw@example.com", "password": "nope-nope"}))
        .send()
        .await
        .unwrap();
    assert_problem(bad, 401).await;
}

#[tokio::test]
async fn a_large_body_streams_through_intact_in_both_directions() {
    let gw = spawn_gateway(&[("MAX_JSON_BYTES", "67108864")]).await;
    // 50 MiB generated lazily and sent chunked: neither side holds it whole.
    const CHUNK: usize = 256 * 1024;
    const CHUNKS: usize = 200;
    let mut expected = Sha256::new();
    for i in 0..CHUNKS {
        expected.update(vec![(i % 251) as u8; CHUNK]);
    }
    let stream = futures_util::stream::iter(
        (0..CHUNKS).map(|i| Ok::<_, std::io::Error>(vec![(i % 251) as u8; CHUNK])),
    );
    let resp = gw
        .http
        .post(gw.url("/api/tickets/echo"))
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen: Value = resp.json().await.unwrap();
    assert_eq!(seen["bytes"], (CHUNK * CHUNKS) as u64);
    assert_eq!(seen["sha256"], format!("{:x}", expected.finalize()));
}

#[tokio::test]
async fn forwarding_sets_the_client_address_and_drops_hop_by_hop_headers() {
    let gw = spawn_gateway(&[]).await;
    let seen: Value = gw
        .http
        .get(gw.url("/api/tickets/echo?x=1"))
        .header("x-forwarded-for", "6.6.6.6")
        .header("connection", "x-hop")
        .header("x-hop", "secret")
        .header("x-request-id", "rid-42")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["path"], "/api/tickets/echo?x=1");
    // With no trusted proxy, a client's own X-Forwarded-For is ignored.
    assert_eq!(seen["x_forwarded_for"], "127.0.0.1");
    assert_eq!(seen["x_request_id"], "rid-42");
    assert!(seen["connection_token"].is_null(), "{seen}");

    let trusting = spawn_gateway(&[("TRUSTED_PROXY_HOPS", "1")]).await;
    let seen: Value = trusting
        .http
        .get(trusting.url("/api/tickets/echo"))
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.7")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["x_forwarded_for"], "6.6.6.6, 203.0.113.7, 203.0.113.7");
}

#[tokio::test]
async fn internal_paths_and_dot_segments_are_never_forwarded() {
    let gw = spawn_gateway(&[]).await;
    for path in [
        "/internal/secret",
        "/api/tickets/../../internal/secret",
        "/api/tickets/%2e%2e/%2e%2e/internal/secret",
        "/api/nothing",
    ] {
        let url = format!("{}{}", gw.base, path);
        // reqwest normalises dot segments; send the raw path with a plain TCP request instead.
        let status = raw_get_status(&gw.base, path).await;
        assert_eq!(status, 404, "{path} ({url})");
    }
}

async fn raw_get_status(base: &str, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_service_that_is_down_or_slow_is_a_problem_not_a_hang() {
    let gw = spawn_gateway(&[("UPSTREAM_TIMEOUT_MS", "500")]).await;
    let started = std::time::Instant::now();
    let down = gw
        .http
        .get(gw.url("/api/attachments/abc/download"))
        .send()
        .await
        .unwrap();
    let body = assert_problem(down, 502).await;
    assert!(body["detail"].as_str().unwrap().contains("attachments"));
    let slow = gw
        .http
        .get(gw.url("/api/tickets/slow/5000"))
        .send()
        .await
        .unwrap();
    assert_problem(slow, 504).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let fast = gw
        .http
        .get(gw.url("/api/tickets/slow/10"))
        .send()
        .await
        .unwrap();
    assert_eq!(fast.status(), 200);
}

/// The gateway bounds what it forwards: a declared length beyond the bound is refused before
/// anything is sent on, a chunked body is cut off at it, and a body within it passes.
#[tokio::test]
async fn bodies_beyond_the_bound_are_refused_with_413() {
    let gw = spawn_gateway(&[("MAX_JSON_BYTES", "1000"), ("MAX_UPLOAD_BYTES", "1000")]).await;
    let chunked = |n: usize| {
        reqwest::Body::wrap_stream(futures_util::stream::iter(
            (0..n).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 100])),
        ))
    };
    let send = |path: &'static str, body: reqwest::Body| {
        gw.http
            .post(gw.url(path))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };
    let resp = send("/api/tickets/echo", vec![b'x'; 1001].into())
        .await
        .unwrap();
    assert_problem(resp, 413).await;
    let resp = send("/api/tickets/echo", chunked(30)).await.unwrap();
    assert_problem(resp, 413).await;
    let resp = send("/api/tickets/echo", chunked(10)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["bytes"], 1000);

    // Uploads may carry five files and their framing; the attachments service is down here,
    // so a body within the bound gets as far as a 502.
    let bound = 5 * 1000 + 256 * 1024;
    let resp = send("/api/tickets/abc/attachments", vec![b'x'; bound + 1].into())
        .await
        .unwrap();
    assert_problem(resp, 413).await;
    let resp = send("/api/tickets/abc/attachments", vec![b'x'; bound].into())
        .await
        .unwrap();
    assert_problem(resp, 502).await;
}

//! Rate limits against real Redis (TEST_REDIS_URL), and a Redis this test starts and stops.

use std::time::Duration;

use docket_testkit::{assert_problem, redis_url, spare_port};
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{Gateway, spawn_gateway};

fn prefix() -> String {
    format!("docket-test:{}", uuid::Uuid::new_v4().simple())
}

async fn get(gw: &Gateway, xff: Option<&str>) -> reqwest::Response {
    let mut rb = gw.http.get(gw.url("/api/tickets/echo"));
    if let Some(x) = xff {
        rb = rb.header("x-forwarded-for", x);
    }
    rb.send().await.unwrap()
}

#[tokio::test]
async fn the_api_limit_holds_exactly_across_two_gateways_sharing_redis() {
    let redis = redis_url().await;
    let prefix = prefix();
    let cfg = [
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_API", "6/60"),
    ];
    let (a, b) = (spawn_gateway(&cfg).await, spawn_gateway(&cfg).await);
    for i in 0..6u32 {
        let gw = if i % 2 == 0 { &a } else { &b };
        let resp = get(gw, None).await;
        assert_eq!(resp.status(), 200, "request {i}");
        assert_eq!(resp.headers()["ratelimit-limit"], "6");
        assert_eq!(
            resp.headers()["ratelimit-remaining"],
            (5 - i).to_string().as_str()
        );
        assert!(resp.headers().contains_key("ratelimit-reset"));
    }
    for gw in [&b, &a] {
        let resp = get(gw, None).await;
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=10).contains(&retry), "retry-after {retry}");
        assert_eq!(resp.headers()["ratelimit-remaining"], "0");
        let body = assert_problem(resp, 429).await;
        assert!(body["detail"].as_str().unwrap().contains("Try again in"));
    }
}

#[tokio::test]
async fn a_concurrent_burst_is_counted_exactly() {
    let redis = redis_url().await;
    let prefix = prefix();
    let gw = spawn_gateway(&[
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_API", "20/60"),
    ])
    .await;
    let statuses =
        join_all((0..50).map(|_| async { get(&gw, None).await.status().as_u16() })).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        30,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_window_recovers_after_its_period() {
    let redis = redis_url().await;
    let prefix = prefix();
    let gw = spawn_gateway(&[
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_API", "3/1"),
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(get(&gw, None).await.status(), 200);
    }
    assert_eq!(get(&gw, None).await.status(), 429);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for _ in 0..3 {
        assert_eq!(get(&gw, None).await.status(), 200);
    }
    assert_eq!(get(&gw, None).await.status(), 429);
}

#[tokio::test]
async fn only_failed_logins_spend_the_login_budget() {
    let redis = redis_url().await;
    let prefix = prefix();
    let gw = spawn_gateway(&[
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_AUTH_FAILURES", "3/60"),
    ])
    .await;
    let login = |password: &'static str| {
        gw.http
            .post(gw.url("/api/auth/login"))
            .json(&json!({"email": "rl@example.com", "password": password}))
            .send()
    };
    let reg = gw
        .http
        .post(gw.url("/api/auth/register"))
        .json(&json!({"email": "rl@example.com", "password": "password123", "name": "R"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reg.status(), 201);
    for _ in 0..6 {
        assert_eq!(login("password123").await.unwrap().status(), 200);
    }
    for _ in 0..3 {
        assert_eq!(login("wrong-password").await.unwrap().status(), 401);
    }
    // Over the budget: even the right password is refused, so the limit tells nothing.
    let resp = login("password123").await.unwrap();
    assert!(resp.headers().contains_key("retry-after"));
    assert_problem(resp, 429).await;
    // A failed registration (duplicate email) spends the same budget.
    let other = spawn_gateway(&[
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_AUTH_FAILURES", "3/60"),
    ])
    .await;
    let resp = other
        .http
        .post(other.url("/api/auth/register"))
        .json(&json!({"email": "x", "password": "p", "name": "n"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 429).await;
}

#[tokio::test]
async fn a_spoofed_forwarded_for_does_not_reset_a_limit() {
    let redis = redis_url().await;
    let prefix = prefix();
    let direct = spawn_gateway(&[
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_API", "3/60"),
    ])
    .await;
    for i in 0..3 {
        assert_eq!(
            get(&direct, Some(&format!("10.0.0.{i}"))).await.status(),
            200
        );
    }
    assert_eq!(get(&direct, Some("10.9.9.9")).await.status(), 429);

    // Behind one trusted proxy the client is the rightmost entry; what the client wrote
    // further left changes nothing.
    let prefix = self::prefix();
    let proxied = spawn_gateway(&[
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_API", "3/60"),
        ("TRUSTED_PROXY_HOPS", "1"),
    ])
    .await;
    for i in 0..3 {
        assert_eq!(
            get(&proxied, Some(&format!("6.6.6.{i}, 203.0.113.5")))
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        get(&proxied, Some("7.7.7.7, 203.0.113.5")).await.status(),
        429
    );
    assert_eq!(get(&proxied, Some("203.0.113.6")).await.status(), 200);
}

#[tokio::test]
async fn uploads_have_their_own_budget() {
    let redis = redis_url().await;
    let prefix = prefix();
    let gw = spawn_gateway(&[
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_UPLOADS", "2/3600"),
    ])
    .await;
    let upload = || {
        gw.http
            .post(gw.url("/api/tickets/abc/attachments"))
            .body("x")
            .send()
    };
    // The attachments service is down in this test: 502, but each request still counts.
    assert_eq!(upload().await.unwrap().status(), 502);
    assert_eq!(upload().await.unwrap().status(), 502);
    assert_problem(upload().await.unwrap(), 429).await;
    // Other API calls are not affected by the upload budget.
    assert_eq!(get(&gw, None).await.status(), 200);
}

struct RedisServer(std::process::Child);

impl RedisServer {
    fn start(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed to test Redis going away");
        std::thread::sleep(Duration::from_millis(300));
        Self(child)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn limiter_status(gw: &Gateway) -> (String, String) {
    let body: Value = gw
        .http
        .get(gw.url("/health/gateway"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let check = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "rate_limiter")
        .unwrap()
        .clone();
    (
        body["status"].as_str().unwrap().to_owned(),
        check["status"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn redis_going_away_falls_back_and_sharing_resumes_when_it_returns() {
    let port = spare_port();
    let url = format!("redis://127.0.0.1:{port}");
    let mut server = Some(RedisServer::start(port));
    let prefix = prefix();
    let gw = spawn_gateway(&[
        ("REDIS_URL", url.as_str()),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_API", "1000/60"),
        ("RATE_LIMIT_REDIS_TIMEOUT_MS", "1000"),
    ])
    .await;
    assert_eq!(get(&gw, None).await.status(), 200);
    assert_eq!(limiter_status(&gw).await.1, "pass");

    // A flushed script cache is reloaded by itself.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    let resp = get(&gw, None).await;
    assert_eq!(resp.status(), 200);
    // Third in the window: the request and the `/health/gateway` call before it.
    assert_eq!(resp.headers()["ratelimit-remaining"], "997");
    drop(conn);

    server.take();
    let started = std::time::Instant::now();
    for _ in 0..5 {
        assert_eq!(
            get(&gw, None).await.status(),
            200,
            "served from the fallback"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a down Redis must not slow requests: {:?}",
        started.elapsed()
    );
    assert_eq!(
        limiter_status(&gw).await,
        ("degraded".to_owned(), "warn".to_owned())
    );

    let _server = RedisServer::start(port);
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let resp = get(&gw, None).await;
    assert_eq!(resp.status(), 200);
    // Shared again: the count continues from what Redis remembers (nothing: it restarted empty).
    assert_eq!(resp.headers()["ratelimit-remaining"], "999");
    assert_eq!(limiter_status(&gw).await.1, "pass");
}

#[tokio::test]
async fn failing_closed_refuses_limited_requests_while_redis_is_down() {
    let closed = format!("redis://127.0.0.1:{}", spare_port());
    let gw = spawn_gateway(&[
        ("REDIS_URL", closed.as_str()),
        ("RATE_LIMIT_REDIS_DOWN", "closed"),
        ("RATE_LIMIT_REDIS_TIMEOUT_MS", "100"),
    ])
    .await;
    assert_problem(get(&gw, None).await, 503).await;
    assert_eq!(
        gw.http
            .get(gw.url("/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// Twelve wrong passwords sent at once, against a budget of five: the budget is reserved
/// before each is forwarded, so exactly five reach the auth service (401) and the rest are
/// refused at the gateway (429), with Redis and with the in-process limiter.
async fn simultaneous_failed_logins_cannot_outrun_the_budget(redis: Option<&str>) {
    let prefix = prefix();
    let mut cfg = vec![
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_AUTH_FAILURES", "5/900"),
    ];
    if let Some(url) = redis {
        cfg.push(("REDIS_URL", url));
    }
    let gw = spawn_gateway(&cfg).await;
    gw.register("burst@example.com").await;
    let statuses = gw
        .logins_at_once(12, "burst@example.com", "wrong-password")
        .await;
    let reached = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(reached, 5, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        7,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn simultaneous_failed_logins_reach_auth_at_most_five_times_with_redis() {
    let redis = redis_url().await;
    simultaneous_failed_logins_cannot_outrun_the_budget(Some(&redis)).await;
}

#[tokio::test]
async fn simultaneous_failed_logins_reach_auth_at_most_five_times_in_process() {
    simultaneous_failed_logins_cannot_outrun_the_budget(None).await;
}

/// A successful login gives its reservation back: a client who signs in correctly over and
/// over, while others of its attempts are in flight, never runs out.
#[tokio::test]
async fn successful_logins_give_their_reservation_back() {
    let gw = spawn_gateway(&[("RATE_LIMIT_AUTH_FAILURES", "2/900")]).await;
    gw.register("ok@example.com").await;
    let statuses = gw.logins_at_once(6, "ok@example.com", "password123").await;
    // Two at a time may be in flight; none of the six is a failure, so none is counted.
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    for _ in 0..4 {
        assert_eq!(
            gw.logins_at_once(1, "ok@example.com", "password123").await,
            [200]
        );
    }
}

/// The gateway's `/metrics` is Prometheus text for a caller that reaches it directly, and its
/// rate-limit decisions move with each request; through the load balancer (which adds
/// `X-Forwarded-For`) it is the unknown-route 404, and no public path leads to a service's.
#[tokio::test]
async fn metrics_count_rate_limit_decisions_and_are_not_served_to_the_public() {
    let gw = crate::helpers::spawn_gateway(&[("RATE_LIMIT_API", "3/60")]).await;
    let scrape = || async {
        let resp = gw.http.get(gw.url("/metrics")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        docket_platform::metrics::parse_text(&resp.text().await.unwrap()).unwrap()
    };
    let value = |samples: &[(String, f64)], needles: &[&str]| {
        samples
            .iter()
            .find(|(s, _)| needles.iter().all(|n| s.contains(n)))
            .map_or(0.0, |(_, v)| *v)
    };
    let allowed = [
        "docket_ratelimit_decisions_total{",
        r#"class="api""#,
        r#"decision="allowed""#,
    ];
    let limited = [
        "docket_ratelimit_decisions_total{",
        r#"class="api""#,
        r#"decision="limited""#,
    ];
    let before = scrape().await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let resp = gw
            .http
            .get(gw.url("/api/tickets/echo"))
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let after = scrape().await;
    assert_eq!(value(&after, &allowed) - value(&before, &allowed), 3.0);
    assert_eq!(value(&after, &limited) - value(&before, &limited), 2.0);
    assert!(value(&after, &["docket_http_requests_total{", r#"status="429""#]) >= 2.0);

    // As the ALB forwards it: refused like a route that does not exist.
    let proxied = gw
        .http
        .get(gw.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_problem(proxied, 404).await;
    // The public paths to a service (its /metrics is not under /api).
    for path in ["/api/auth/metrics", "/api/tickets/metrics", "/api/metrics"] {
        let resp = gw.http.get(gw.url(path)).send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert!(
            !body.contains("docket_http_requests_total"),
            "{path} answered {status} with metrics"
        );
    }
}

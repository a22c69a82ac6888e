use serde_json::Value;

use crate::helpers::{spawn_counting_health_peer, spawn_gateway, spawn_gateway_with_admin};

#[tokio::test]
async fn cors_answers_only_origins_on_the_allow_list() {
    let gw = spawn_gateway(&[(
        "FRONTEND_URL",
        "https://help.example.com, http://localhost:5173",
    )])
    .await;
    let allowed = gw
        .http
        .get(gw.url("/api/tickets/echo"))
        .header("origin", "https://help.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://help.example.com"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let foreign = gw
        .http
        .get(gw.url("/api/tickets/echo"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let preflight = gw
        .http
        .request(reqwest::Method::OPTIONS, gw.url("/api/tickets"))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", "if-match, content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert!(
        preflight.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("PATCH")
    );
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("if-match")
    );
    let refused = gw
        .http
        .request(reqwest::Method::OPTIONS, gw.url("/api/tickets"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "DELETE")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // A refusal is a problem like any other, with the request's id, and the security headers.
    assert_eq!(refused.headers()["x-content-type-options"], "nosniff");
    assert!(preflight.headers().contains_key("x-request-id"));
    docket_testkit::assert_problem(refused, 403).await;
}

#[tokio::test]
async fn a_405_from_the_gateway_itself_carries_allow() {
    let gw = spawn_gateway(&[]).await;
    let resp = gw.http.post(gw.url("/health")).send().await.unwrap();
    assert_eq!(resp.headers()["allow"], "GET, HEAD");
    assert!(resp.headers().contains_key("x-request-id"));
    docket_testkit::assert_problem(resp, 405).await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let gw = spawn_gateway(&[
        ("HSTS", "true"),
        (
            "CSP_CONNECT_SRC",
            "https://docket-files.s3.us-east-1.amazonaws.com",
        ),
    ])
    .await;
    for path in ["/", "/api/nothing", "/docs", "/health/live"] {
        let resp = gw.http.get(gw.url(path)).send().await.unwrap();
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(
            h["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age="),
            "{path}"
        );
        assert!(h.contains_key("x-request-id"), "{path}");
    }
    let app = gw.http.get(gw.url("/")).send().await.unwrap();
    let csp = app.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("connect-src 'self' https://docket-files.s3.us-east-1.amazonaws.com;"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';"), "{csp}");
    let plain = spawn_gateway(&[]).await;
    let resp = plain.http.get(plain.url("/")).send().await.unwrap();
    assert!(resp.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn the_web_app_is_served_with_a_fallback_to_index_for_client_routes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>Docket app</title>",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/app.js"), "console.log('hi')").unwrap();
    let gw = spawn_gateway(&[("WEB_DIR", dir.path().to_str().unwrap())]).await;
    for path in ["/", "/tickets/123", "/admin/users"] {
        let resp = gw.http.get(gw.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert!(resp.text().await.unwrap().contains("Docket app"), "{path}");
    }
    let js = gw.http.get(gw.url("/assets/app.js")).send().await.unwrap();
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    // API paths are never answered by the SPA fallback.
    let api = gw.http.get(gw.url("/api/nothing")).send().await.unwrap();
    assert_eq!(api.status(), 404);
    assert!(
        api.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
}

#[tokio::test]
async fn docs_offer_every_document_and_documents_come_from_the_services() {
    let gw = spawn_gateway(&[]).await;
    let config: Value = gw
        .http
        .get(gw.url("/docs/swagger-config.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let urls = config["urls"].as_array().unwrap();
    for name in ["auth", "tickets", "attachments"] {
        assert!(
            urls.iter()
                .any(|u| u["name"] == name && u["url"] == format!("/openapi/{name}.json")),
            "{name}: {config}"
        );
    }
    assert_eq!(config["urls.primaryName"], "auth");
    // Without a built web app, /docs still links every document.
    let html = gw
        .http
        .get(gw.url("/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in ["auth", "tickets", "attachments"] {
        assert!(html.contains(&format!("/openapi/{name}.json")), "{name}");
    }
    let auth: Value = gw
        .http
        .get(gw.url("/openapi/auth.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(auth["paths"]["/api/auth/login"].is_object());
    let unknown = gw
        .http
        .get(gw.url("/openapi/nope.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn docs_serve_the_built_swagger_ui_under_the_apps_csp() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>app</title>",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(
        dir.path().join("docs/index.html"),
        "<!doctype html><title>Docket API</title><script src=\"/docs/init.js\"></script>",
    )
    .unwrap();
    std::fs::write(dir.path().join("docs/init.js"), "window.ui = 1;").unwrap();
    let web_dir = dir.path().to_str().unwrap();
    let gw = spawn_gateway(&[("WEB_DIR", web_dir)]).await;
    for path in ["/docs", "/docs/"] {
        let resp = gw.http.get(gw.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("script-src 'self';"), "{path}: {csp}");
        assert!(resp.text().await.unwrap().contains("Docket API"), "{path}");
    }
    let script = gw.http.get(gw.url("/docs/init.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(script.text().await.unwrap(), "window.ui = 1;");
    let config = gw
        .http
        .get(gw.url("/docs/swagger-config.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(config.status(), 200);
    // The app's client routes still fall back to its index; /docs has no such fallback.
    let missing = gw.http.get(gw.url("/docs/nope.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn health_gathers_every_service_and_is_unhealthy_when_one_is_down() {
    let gw = spawn_gateway(&[]).await;
    let resp = gw.http.get(gw.url("/health")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "unhealthy");
    let checks = body["checks"].as_array().unwrap();
    let by_name = |n: &str| checks.iter().find(|c| c["name"] == n).unwrap().clone();
    assert_eq!(by_name("auth")["status"], "healthy");
    assert_eq!(by_name("attachments")["status"], "unhealthy");
    assert_eq!(
        gw.http
            .get(gw.url("/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        gw.http
            .get(gw.url("/health/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// From outside (through a proxy, `X-Forwarded-For`), `/health` says only its status word,
/// with the same code; an admin's token shows every check, anyone else's does not.
#[tokio::test]
async fn health_shows_detail_only_to_admins_and_callers_inside() {
    let (gw, admin) = spawn_gateway_with_admin(&[]).await;
    let outside = |path: &'static str, token: Option<String>| {
        let mut rb = gw
            .http
            .get(gw.url(path))
            .header("x-forwarded-for", "203.0.113.9");
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        rb.send()
    };
    for path in ["/health", "/health/gateway"] {
        let resp = outside(path, None).await.unwrap();
        let code = resp.status();
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["status"],
            "{path}: {body}"
        );
        let inside: Value = gw
            .http
            .get(gw.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["status"], inside["status"], "{path}");
        assert!(inside["checks"].is_array(), "{path}: {inside}");

        let resp = outside(path, Some(admin.clone())).await.unwrap();
        assert_eq!(resp.status(), code);
        let body: Value = resp.json().await.unwrap();
        assert!(body["checks"].is_array(), "{path}: {body}");
    }
    // The health summary for `/health`: attachments is down in this test.
    assert_eq!(outside("/health", None).await.unwrap().status(), 503);

    // A requester's token, or a forged one, shows nothing more.
    let requester = gw.register("r@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let forged = format!("{}x", &admin[..admin.len() - 1]);
    for token in [requester, forged] {
        let body: Value = outside("/health", Some(token))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(body.get("checks").is_none(), "{body}");
    }
}

/// However many callers ask at once, each service is checked about once a second.
#[tokio::test]
async fn health_checks_each_service_once_for_a_burst_of_callers() {
    let (peer, checks) = spawn_counting_health_peer().await;
    let gw = spawn_gateway(&[("TICKETS_URL", peer.as_str())]).await;
    let statuses = futures_util::future::join_all((0..30).map(|_| async {
        gw.http
            .get(gw.url("/health"))
            .send()
            .await
            .unwrap()
            .status()
    }))
    .await;
    assert!(statuses.iter().all(|s| *s == 503), "{statuses:?}");
    assert_eq!(checks.load(std::sync::atomic::Ordering::SeqCst), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    gw.http.get(gw.url("/health")).send().await.unwrap();
    assert_eq!(checks.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// `/health` spends the caller's API budget like any other request.
#[tokio::test]
async fn health_is_rate_limited() {
    let gw = spawn_gateway(&[("RATE_LIMIT_API", "3/60")]).await;
    for _ in 0..3 {
        let resp = gw.http.get(gw.url("/health")).send().await.unwrap();
        assert_eq!(resp.status(), 503);
        assert!(resp.headers().contains_key("ratelimit-remaining"));
    }
    let resp = gw.http.get(gw.url("/health")).send().await.unwrap();
    assert!(resp.headers().contains_key("retry-after"));
    docket_testkit::assert_problem(resp, 429).await;
    // The load balancer's checks are not limited.
    let live = gw.http.get(gw.url("/health/ready")).send().await.unwrap();
    assert_eq!(live.status(), 200);
}

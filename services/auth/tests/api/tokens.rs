//! Forged and broken access tokens are all 401 (RFC 8725).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use docket_testkit::{Backend, assert_problem, backend_tests};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn};

backend_tests!(
    forged_expired_and_misaddressed_tokens_are_rejected,
    the_key_set_publishes_the_signing_key
);

fn sign(app: &TestApp, claims: &Value, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = kid.map(str::to_owned);
    let key = EncodingKey::from_ed_pem(app.private_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn claims(sub: &str, overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({
        "sub": sub, "role": "admin", "iss": "docket", "aud": "docket",
        "iat": now, "nbf": now, "exp": now + 600, "jti": "t",
    });
    for (k, v) in overrides.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

async fn forged_expired_and_misaddressed_tokens_are_rejected(backend: Backend) {
    let app = spawn(backend).await;
    let user = app.requester().await;
    let kid = app.kid.clone();
    let now = chrono::Utc::now().timestamp();

    // A correctly made token works, so the failures below are about what each one changes.
    let good = sign(&app, &claims(&user.id, json!({})), Some(&kid));
    assert_eq!(app.get_auth("/api/auth/me", &good).await.status(), 200);

    let jwks: Value = app
        .http
        .get(app.url("/api/auth/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public_x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();

    let mut bad: Vec<(&str, String)> = vec![
        (
            "expired",
            sign(
                &app,
                &claims(
                    &user.id,
                    json!({"exp": now - 10, "iat": now - 700, "nbf": now - 700}),
                ),
                Some(&kid),
            ),
        ),
        (
            "not yet valid",
            sign(
                &app,
                &claims(&user.id, json!({"nbf": now + 300})),
                Some(&kid),
            ),
        ),
        (
            "wrong issuer",
            sign(&app, &claims(&user.id, json!({"iss": "evil"})), Some(&kid)),
        ),
        (
            "wrong audience",
            sign(
                &app,
                &claims(&user.id, json!({"aud": "someone-else"})),
                Some(&kid),
            ),
        ),
        (
            "unknown kid",
            sign(&app, &claims(&user.id, json!({})), Some("no-such-key")),
        ),
        ("no kid", sign(&app, &claims(&user.id, json!({})), None)),
        ("garbage", "not.a.token".to_owned()),
    ];
    // alg: none, unsigned.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})),
        b64(&claims(&user.id, json!({})))
    );
    bad.push(("alg none", none));
    // HS256 "signed" with the public key: the algorithm-confusion attack.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(kid.clone());
    let confused = jsonwebtoken::encode(
        &hs,
        &claims(&user.id, json!({})),
        &EncodingKey::from_secret(public_x.as_bytes()),
    )
    .unwrap();
    bad.push(("HS256 with the public key", confused));
    // A valid token whose payload was changed to claim another role.
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&claims(
            &user.id,
            json!({"role": "admin", "sub": uuid::Uuid::new_v4().to_string()})
        )),
        parts[2]
    );
    bad.push(("tampered payload", tampered));

    for (what, token) in bad {
        let body = assert_problem(app.get_auth("/api/auth/me", &token).await, 401).await;
        assert_eq!(body["type"], "/problems/unauthorized", "{what}");
    }
}

async fn the_key_set_publishes_the_signing_key(backend: Backend) {
    let app = spawn(backend).await;
    let jwks: Value = app
        .http
        .get(app.url("/api/auth/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["kid"], app.kid.as_str());
    assert!(
        key.get("d").is_none(),
        "the private part must never be published"
    );
    let user = app.requester().await;
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(user.access.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], app.kid.as_str());
}

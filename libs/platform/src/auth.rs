//! Access tokens: verification and the current user.
//!
//! Access tokens are JWTs signed by the auth service with EdDSA (Ed25519) or ES256 and a `kid`.
//! [`TokenVerifier`] checks them per RFC 8725: the algorithm must be on our allow-list *and*
//! match the key the `kid` names (so a token cannot pick HS256 and sign with the public key),
//! `exp`/`nbf` are checked with no leeway beyond a configured few seconds, and `iss`/`aud` must
//! be `docket`. Keys come from the auth service's key set (`/api/auth/jwks.json`), fetched over
//! HTTP, cached, and fetched again when an unknown `kid` appears (at most every few seconds, so
//! forged `kid`s cannot hammer the auth service). Handlers take [`BearerAuth`] (public routes)
//! or [`CurrentUser`] (internal routes, the token a service forwards) and never parse tokens
//! themselves.
//!
//! A signature check costs more than the rest of a simple request, and a client sends the same
//! token many times, so tokens that passed are remembered (exact token text → claims) for at
//! most a minute, never past their `exp`. A changed key set forgets them all. Nothing that
//! failed is remembered, and a token that differs by one byte is checked afresh.

use std::{
    collections::HashMap,
    num::NonZeroUsize,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    jwk::{Jwk, JwkSet},
};
use poem::{FromRequest, Request, RequestBody, http::header};
use poem_openapi::{Enum, SecurityScheme, auth::Bearer};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use uuid::Uuid;

use crate::problem::ApiError;

pub const ISSUER: &str = "docket";
pub const AUDIENCE: &str = "docket";
/// The only algorithms Docket signs with; anything else is refused before any key is looked up.
pub const ALLOWED_ALGORITHMS: &[Algorithm] = &[Algorithm::EdDSA, Algorithm::ES256];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Enum)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum Role {
    Requester,
    Agent,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Requester => "requester",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }
    /// Agents and admins work tickets; requesters only open them.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "requester" => Ok(Role::Requester),
            "agent" => Ok(Role::Agent),
            "admin" => Ok(Role::Admin),
            other => Err(format!("{other:?} is not a role")),
        }
    }
}

/// The claims of a Docket access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub nbf: i64,
    pub jti: String,
}

/// Who is calling, from a verified access token.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: Uuid,
    pub role: Role,
    /// The raw token, forwarded on calls to other services on the user's behalf.
    pub token: String,
}

struct CachedKey {
    key: DecodingKey,
    alg: Algorithm,
}

enum KeySource {
    /// The auth service's own keys.
    Static,
    /// Fetched from a key-set URL.
    Remote { url: String, http: reqwest::Client },
}

/// Verifies access tokens. Cheap to clone.
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<VerifierInner>,
}

struct VerifierInner {
    source: KeySource,
    keys: RwLock<HashMap<String, CachedKey>>,
    /// When the key set was last fetched and whether that worked. Held across a fetch, so
    /// there is one at a time and whoever waited for it sees its keys.
    last_fetch: tokio::sync::Mutex<Option<(Instant, bool)>>,
    min_refetch: Duration,
    leeway_secs: u64,
    /// Tokens that passed every check, with when they did.
    verified: Mutex<lru::LruCache<String, (Claims, Instant)>>,
}

/// How many verified tokens are remembered (about 0.5 KiB each).
const VERIFIED_CAPACITY: NonZeroUsize = NonZeroUsize::new(10_000).unwrap();
/// How long a verified token is trusted without a new signature check.
const VERIFIED_TTL: Duration = Duration::from_secs(60);

fn key_from_jwk(jwk: &Jwk) -> Option<(String, CachedKey)> {
    let kid = jwk.common.key_id.clone()?;
    let alg = match &jwk.algorithm {
        jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
        jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
        _ => return None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((kid, CachedKey { key, alg }))
}

impl TokenVerifier {
    /// A verifier over a fixed key set (the auth service verifying its own tokens).
    pub fn from_jwks(set: &JwkSet, leeway_secs: u64) -> Self {
        let keys = set.keys.iter().filter_map(key_from_jwk).collect();
        Self::build(KeySource::Static, keys, leeway_secs)
    }

    /// A verifier that fetches the key set from `auth_url` + `/api/auth/jwks.json`.
    pub fn remote(auth_url: &str, leeway_secs: u64) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        let url = format!("{}/api/auth/jwks.json", auth_url.trim_end_matches('/'));
        Self::build(KeySource::Remote { url, http }, HashMap::new(), leeway_secs)
    }

    fn build(source: KeySource, keys: HashMap<String, CachedKey>, leeway_secs: u64) -> Self {
        Self {
            inner: Arc::new(VerifierInner {
                source,
                keys: RwLock::new(keys),
                last_fetch: tokio::sync::Mutex::new(None),
                min_refetch: Duration::from_secs(5),
                leeway_secs,
                verified: Mutex::new(lru::LruCache::new(VERIFIED_CAPACITY)),
            }),
        }
    }

    /// Fetches the key set because `kid` is not in it, unless a fetch just happened. Requests
    /// that arrive while a fetch is under way wait for it instead of finding no key (a valid
    /// token must not get a 401 because its service has just started), and while the last
    /// fetch failed less than `min_refetch` ago the answer is a 503, not a 401.
    async fn refresh(&self, kid: &str) -> Result<(), ApiError> {
        let KeySource::Remote { url, http } = &self.inner.source else {
            return Ok(());
        };
        let unavailable =
            || ApiError::ServiceUnavailable("The sign-in service is unavailable.".into());
        let mut last = self.inner.last_fetch.lock().await;
        if self.inner.keys.read().await.contains_key(kid) {
            return Ok(());
        }
        if let Some((at, fetched)) = *last
            && at.elapsed() < self.inner.min_refetch
        {
            return if fetched { Ok(()) } else { Err(unavailable()) };
        }
        let result: Result<JwkSet, reqwest::Error> =
            async { http.get(url).send().await?.error_for_status()?.json().await }.await;
        *last = Some((Instant::now(), result.is_ok()));
        let set = result.map_err(|e| {
            tracing::warn!(error = %e, "fetching the auth key set failed");
            unavailable()
        })?;
        let keys: HashMap<_, _> = set.keys.iter().filter_map(key_from_jwk).collect();
        tracing::info!(keys = keys.len(), "auth key set loaded");
        *self.inner.keys.write().await = keys;
        // A key may have been withdrawn: check every token again.
        self.verified().clear();
        Ok(())
    }

    fn verified(&self) -> std::sync::MutexGuard<'_, lru::LruCache<String, (Claims, Instant)>> {
        // The cache holds no invariant a panic could break: recover it.
        self.inner
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The claims of a token verified less than [`VERIFIED_TTL`] ago and still within its
    /// validity window.
    fn remembered(&self, token: &str) -> Option<Claims> {
        let mut cache = self.verified();
        let (claims, at) = cache.get(token)?;
        let now = chrono::Utc::now().timestamp();
        let leeway = i64::try_from(self.inner.leeway_secs).unwrap_or(i64::MAX);
        if at.elapsed() < VERIFIED_TTL
            && now < claims.exp.saturating_add(leeway)
            && claims.nbf <= now.saturating_add(leeway)
        {
            return Some(claims.clone());
        }
        cache.pop(token);
        None
    }

    /// Verifies a token and returns its claims; every failure is a 401.
    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        if let Some(claims) = self.remembered(token) {
            return Ok(claims);
        }
        let claims = self.check(token).await?;
        self.verified()
            .put(token.to_owned(), (claims.clone(), Instant::now()));
        Ok(claims)
    }

    /// The full check: algorithm, key, signature and claims.
    async fn check(&self, token: &str) -> Result<Claims, ApiError> {
        let invalid = || ApiError::Unauthorized("The access token is invalid or expired.".into());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        if !ALLOWED_ALGORITHMS.contains(&header.alg) {
            return Err(invalid());
        }
        let kid = header.kid.ok_or_else(invalid)?;
        if kid.len() > 128 {
            return Err(invalid());
        }
        if !self.inner.keys.read().await.contains_key(&kid) {
            self.refresh(&kid).await?;
        }
        let keys = self.inner.keys.read().await;
        let cached = keys.get(&kid).ok_or_else(invalid)?;
        if cached.alg != header.alg {
            return Err(invalid());
        }
        let mut validation = Validation::new(cached.alg);
        validation.leeway = self.inner.leeway_secs;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &cached.key, &validation)
            .map_err(|_| invalid())?;
        Ok(data.claims)
    }

    /// Verifies a bearer token into the current user.
    pub async fn current_user(&self, token: &str) -> Result<CurrentUser, ApiError> {
        let claims = self.verify(token).await?;
        let id = Uuid::parse_str(&claims.sub)
            .map_err(|_| ApiError::Unauthorized("The access token is invalid.".into()))?;
        Ok(CurrentUser {
            id,
            role: claims.role,
            token: token.to_owned(),
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header, or `None`. The scheme matches
/// whatever its case (RFC 7235: `bearer`, `BEARER` …); an empty token is none.
pub fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The caller of an internal route (`/internal/*`, outside the OpenAPI documents): the user
/// whose bearer token the calling service forwards, verified like any public request, so an
/// internal answer sees no more than that user could. A missing token is a 401 problem.
/// Public routes take [`BearerAuth`] instead, which puts the scheme in the document.
impl<'a> FromRequest<'a> for CurrentUser {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let token = bearer_token(req)
            .ok_or_else(|| ApiError::Unauthorized("A bearer token is required.".into()))?;
        let verifier = req
            .data::<TokenVerifier>()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no TokenVerifier in app data")))?;
        Ok(verifier.current_user(token).await?)
    }
}

/// The header a service sends its shared service token in, on internal routes that answer
/// for no user (the notifications service's event feed and user look-ups).
pub const SERVICE_TOKEN_HEADER: &str = "x-service-token";

/// Checks the `X-Service-Token` of an internal request against the configured
/// `SERVICE_TOKEN`, in constant time. No token configured: such routes are off (401 for all).
pub fn check_service_token(req: &Request, expected: Option<&str>) -> Result<(), ApiError> {
    let refused = || ApiError::Unauthorized("A valid service token is required.".into());
    let expected = expected.filter(|e| !e.is_empty()).ok_or_else(refused)?;
    let given = req
        .headers()
        .get(SERVICE_TOKEN_HEADER)
        .map(|v| v.as_bytes())
        .ok_or_else(refused)?;
    let (a, b) = (given, expected.as_bytes());
    // Length is no secret (the token's length is fixed by whoever generates it).
    let diff = a.len() ^ b.len()
        | a.iter()
            .zip(b)
            .fold(0usize, |acc, (x, y)| acc | usize::from(x ^ y));
    if diff == 0 { Ok(()) } else { Err(refused()) }
}

/// The signed-in caller. Put a `TokenVerifier` in the app's data and take this in handlers.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(pub CurrentUser);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<CurrentUser> {
    let verifier = req
        .data::<TokenVerifier>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no TokenVerifier in app data")))?;
    Ok(verifier.current_user(&bearer.token).await?)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use jsonwebtoken::{EncodingKey, Header};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    // A throwaway Ed25519 key, for these tests only.
    const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIDjQ3nQP112FH54q71h9Mk0W4d8uDczlg6gTWvtk5/KK
-----END PRIVATE KEY-----";
    const TEST_KEY_X: &str = "Q_xoDiu_fahz4t7elH9dc56Uuoxq4xZeCArsW4nNAks";

    fn token() -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: Uuid::new_v4().to_string(),
            role: Role::Requester,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + 600,
            nbf: now,
            jti: Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k1".into());
        let key = EncodingKey::from_ed_pem(TEST_KEY.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }

    /// A key-set server that answers slowly, like an auth service under load; counts requests.
    async fn slow_key_server(delay: Duration) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let body = serde_json::json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": TEST_KEY_X,
            "kid": "k1", "alg": "EdDSA", "use": "sig" }] })
        .to_string();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let body = body.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    tokio::time::sleep(delay).await;
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(resp.as_bytes()).await;
                });
            }
        });
        (url, hits)
    }

    #[test]
    fn the_bearer_scheme_is_matched_whatever_its_case() {
        let with = |value: &str| {
            Request::builder()
                .header(header::AUTHORIZATION, value)
                .finish()
        };
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR  abc "] {
            assert_eq!(bearer_token(&with(value)), Some("abc"), "{value:?}");
        }
        for value in ["Basic abc", "Bearer", "Bearer ", "Bearerabc", "Token abc"] {
            assert_eq!(bearer_token(&with(value)), None, "{value:?}");
        }
        assert_eq!(bearer_token(&Request::builder().finish()), None);
    }

    #[tokio::test]
    async fn requests_that_arrive_during_the_first_key_fetch_wait_for_it() {
        let (url, hits) = slow_key_server(Duration::from_millis(200)).await;
        let verifier = TokenVerifier::remote(&url, 5);
        // Different tokens, so that none is answered from the cache of verified tokens.
        let tokens: Vec<String> = (0..8).map(|_| token()).collect();
        let results =
            futures_util::future::join_all(tokens.iter().map(|t| verifier.verify(t))).await;
        for r in &results {
            assert!(
                r.is_ok(),
                "a valid token was refused: {:?}",
                r.as_ref().err()
            );
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1, "one fetch for all of them");
    }

    #[tokio::test]
    async fn while_the_key_set_cannot_be_fetched_a_valid_token_gets_503_not_401() {
        // Nothing listens here.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let verifier = TokenVerifier::remote(&format!("http://127.0.0.1:{port}"), 5);
        for _ in 0..2 {
            match verifier.verify(&token()).await {
                Err(ApiError::ServiceUnavailable(_)) => {}
                other => panic!("expected 503, got {:?}", other.map(|c| c.sub)),
            }
        }
    }
}

//! Access tokens: verification and the current user.
//!
//! Access tokens are JWTs signed by the auth service with EdDSA (Ed25519) or ES256 and a `kid`.
//! [`TokenVerifier`] checks them per RFC 8725: the algorithm must be on our allow-list *and*
//! match the key the `kid` names (so a token cannot pick HS256 and sign with the public key),
//! `exp`/`nbf` are checked with no leeway beyond a configured few seconds, and `iss`/`aud` must
//! be `docket`. Keys come from the auth service's key set (`/api/auth/jwks.json`), fetched over
//! HTTP, cached, and fetched again when an unknown `kid` appears (at most every few seconds, so
//! forged `kid`s cannot hammer the auth service). Handlers take [`BearerAuth`] and never parse
//! tokens themselves.
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
use poem::Request;
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
    last_fetch: RwLock<Option<Instant>>,
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
                last_fetch: RwLock::new(None),
                min_refetch: Duration::from_secs(5),
                leeway_secs,
                verified: Mutex::new(lru::LruCache::new(VERIFIED_CAPACITY)),
            }),
        }
    }

    async fn refresh(&self) -> Result<(), ApiError> {
        let KeySource::Remote { url, http } = &self.inner.source else {
            return Ok(());
        };
        {
            let last = self.inner.last_fetch.read().await;
            if last.is_some_and(|t| t.elapsed() < self.inner.min_refetch) {
                return Ok(());
            }
        }
        *self.inner.last_fetch.write().await = Some(Instant::now());
        let set: JwkSet = async { http.get(url).send().await?.error_for_status()?.json().await }
            .await
            .map_err(|e: reqwest::Error| {
                tracing::warn!(error = %e, "fetching the auth key set failed");
                ApiError::ServiceUnavailable("The sign-in service is unavailable.".into())
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
            self.refresh().await?;
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

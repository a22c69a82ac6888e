//! The access-token signing key (Ed25519) and the key set published for verifiers.
//!
//! Production passes either the key as `JWT_PRIVATE_KEY` (PKCS#8 PEM) or, what the ECS stack
//! does, `JWT_KEY_SEED`: a random string Secrets Manager generated when the stack was made,
//! from which the key is derived (SHA-256 under a fixed label gives the 32-byte Ed25519 seed),
//! so no one has to make a key by hand and a stack update never replaces it. The embedded
//! default generates one on first start and keeps it at `DATA_DIR/jwt-ed25519.pem` (mode
//! 0600), so a restart does not sign everybody out. No key ships with Docket.
//! The `kid` is the key's RFC 7638 thumbprint.

use std::path::Path;

use anyhow::Context as _;
use aws_lc_rs::{
    rand::SystemRandom,
    signature::{Ed25519KeyPair, KeyPair as _},
};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use docket_platform::auth::{AUDIENCE, Claims, ISSUER, Role, TokenVerifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::JwkSet};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub struct SigningKeys {
    kid: String,
    encoding: EncodingKey,
    jwks: JwkSet,
    jwks_json: serde_json::Value,
}

fn pem_to_der(pem: &str) -> anyhow::Result<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    STANDARD
        .decode(body)
        .context("the private key PEM is not valid base64")
}

fn der_to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

/// The shortest `JWT_KEY_SEED` accepted: 32 characters of Secrets Manager's generated
/// alphabet carry well over the 128 bits an Ed25519 key offers.
pub const MIN_SEED_CHARS: usize = 32;

/// The fixed PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410), before its 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl SigningKeys {
    /// From a PKCS#8 PEM Ed25519 key.
    pub fn from_pem(pem: &str) -> anyhow::Result<Self> {
        Self::from_der(&pem_to_der(pem)?)
    }

    /// From `JWT_KEY_SEED`, a generated random string: the same string always gives the same
    /// key, so every task of the service signs with one key.
    pub fn from_seed(seed: &str) -> anyhow::Result<Self> {
        if seed.chars().count() < MIN_SEED_CHARS {
            anyhow::bail!("JWT_KEY_SEED must be at least {MIN_SEED_CHARS} random characters");
        }
        let mut hasher = Sha256::new();
        hasher.update(b"docket access-token ed25519 seed v1\0");
        hasher.update(seed.as_bytes());
        let mut der = ED25519_PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&hasher.finalize());
        Self::from_der(&der)
    }

    fn from_der(der: &[u8]) -> anyhow::Result<Self> {
        let der = der.to_vec();
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map_err(|e| anyhow::anyhow!("JWT_PRIVATE_KEY is not a PKCS#8 Ed25519 key: {e}"))?;
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        // RFC 7638: members in lexicographic order, no white space.
        let thumbprint_input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes()));
        let jwks_json = serde_json::json!({
            "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig" }]
        });
        let jwks: JwkSet =
            serde_json::from_value(jwks_json.clone()).context("building the key set")?;
        let encoding = EncodingKey::from_ed_der(&der);
        Ok(Self {
            kid,
            encoding,
            jwks,
            jwks_json,
        })
    }

    /// Reads the key at `data_dir/jwt-ed25519.pem`, generating it on first start.
    pub fn load_or_generate(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join("jwt-ed25519.pem");
        if path.exists() {
            let pem = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Self::from_pem(&pem);
        }
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|e| anyhow::anyhow!("generating a signing key: {e}"))?;
        let pem = der_to_pem(doc.as_ref());
        write_private(&path, &pem)?;
        tracing::info!(path = %path.display(), "generated a new token signing key");
        Self::from_pem(&pem)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwks_json(&self) -> &serde_json::Value {
        &self.jwks_json
    }

    pub fn verifier(&self, leeway_secs: u64) -> TokenVerifier {
        TokenVerifier::from_jwks(&self.jwks, leeway_secs)
    }

    /// Signs an access token for `user` valid for `ttl_secs`.
    pub fn sign_access_token(
        &self,
        user: Uuid,
        role: Role,
        ttl_secs: i64,
    ) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_string(),
            role,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            nbf: now,
            exp: now + ttl_secs,
            jti: Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).context("signing an access token")
    }

    /// The private key as PEM, for tools that need to hand it to another process.
    pub fn generate_pem() -> anyhow::Result<String> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|e| anyhow::anyhow!("generating a signing key: {e}"))?;
        Ok(der_to_pem(doc.as_ref()))
    }
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_seed_gives_one_key_every_time_and_a_short_seed_is_refused() -> anyhow::Result<()> {
        let seed = "Zr4nQ8wX2pLk9Vb7Tc3Hy6Jm1Ds5Fg0Ae8Ru4Wq";
        let keys = SigningKeys::from_seed(seed)?;
        assert_eq!(keys.kid(), SigningKeys::from_seed(seed)?.kid());
        assert_ne!(
            keys.kid(),
            SigningKeys::from_seed(&format!("{seed}x"))?.kid()
        );
        let user = Uuid::new_v4();
        let token = keys.sign_access_token(user, Role::Admin, 60)?;
        let claims = SigningKeys::from_seed(seed)?
            .verifier(0)
            .verify(&token)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        assert_eq!(claims.sub, user.to_string());
        assert!(SigningKeys::from_seed("too-short").is_err());
        Ok(())
    }

    #[tokio::test]
    async fn a_signed_token_verifies_with_the_published_key_set() -> anyhow::Result<()> {
        let keys = SigningKeys::from_pem(&SigningKeys::generate_pem()?)?;
        let user = Uuid::new_v4();
        let token = keys.sign_access_token(user, Role::Agent, 60)?;
        let claims = keys
            .verifier(0)
            .verify(&token)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        assert_eq!(claims.sub, user.to_string());
        assert_eq!(claims.role, Role::Agent);
        Ok(())
    }

    #[tokio::test]
    async fn a_remembered_token_still_expires_and_only_the_exact_text_is_remembered()
    -> anyhow::Result<()> {
        let keys = SigningKeys::from_pem(&SigningKeys::generate_pem()?)?;
        let verifier = keys.verifier(0);
        let token = keys.sign_access_token(Uuid::new_v4(), Role::Requester, 1)?;
        assert!(verifier.verify(&token).await.is_ok());
        // Remembered now; one changed byte of the signature is still checked and refused.
        let mut forged = token.clone().into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged)?;
        assert!(verifier.verify(&forged).await.is_err());
        assert!(verifier.verify(&token).await.is_ok());
        // Past its exp the remembered token is refused like any other.
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert!(verifier.verify(&token).await.is_err());
        Ok(())
    }

    #[test]
    fn the_key_survives_a_restart() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let first = SigningKeys::load_or_generate(dir.path())?;
        let second = SigningKeys::load_or_generate(dir.path())?;
        assert_eq!(first.kid(), second.kid());
        Ok(())
    }
}

//! Passwords: 8 characters to 256 bytes, hashed with argon2id.
//!
//! Hashing is deliberately slow, so it runs on the blocking pool. Login verifies against a
//! dummy hash when the email is unknown, so both failures take about the same time.

use argon2::{
    Argon2,
    password_hash::{
        PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString, rand_core::OsRng,
    },
};

use docket_platform::config::Secret;

pub struct Password(Secret<String>);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().count() < 8 {
            return Err("password must be at least 8 characters".into());
        }
        if raw.len() > 256 {
            return Err("password must be at most 256 bytes".into());
        }
        Ok(Self(Secret::new(raw.to_owned())))
    }
}

/// Hashes and verifies with argon2id (OWASP parameters: 19 MiB, 2 iterations).
#[derive(Clone)]
pub struct PasswordHasher {
    dummy_hash: String,
}

fn argon() -> Argon2<'static> {
    Argon2::default()
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

impl PasswordHasher {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            dummy_hash: hash_blocking("docket-dummy-password-for-timing")?,
        })
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let pw = password.0.expose().clone();
        tokio::task::spawn_blocking(move || hash_blocking(&pw)).await?
    }

    /// Verifies `password` against `hash`, or against the dummy hash when `hash` is `None`
    /// (unknown email) so that both paths cost the same. Returns false in the second case.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        // Over-long input is refused before any hashing work.
        if password.len() > 256 {
            return false;
        }
        let known = hash.is_some();
        let hash = hash.unwrap_or(&self.dummy_hash).to_owned();
        let pw = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| argon().verify_password(pw.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        known && ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_huge_passwords_are_rejected() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"x".repeat(257)).is_err());
        assert!(Password::parse(&"x".repeat(256)).is_ok());
        // 8 characters, more bytes than characters
        assert!(Password::parse("ääääääää").is_ok());
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new()?;
        let hash = hasher
            .hash(&Password::parse("correct horse").map_err(anyhow::Error::msg)?)
            .await?;
        assert!(hash.starts_with("$argon2id$"));
        assert!(hasher.verify("correct horse", Some(&hash)).await);
        assert!(!hasher.verify("wrong horse", Some(&hash)).await);
        assert!(
            !hasher
                .verify("docket-dummy-password-for-timing", None)
                .await
        );
        Ok(())
    }
}

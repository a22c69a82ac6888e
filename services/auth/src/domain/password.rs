//! Passwords: 8 characters to 256 bytes, hashed with argon2id.
//!
//! Hashing is deliberately slow, so it runs on the blocking pool. Login verifies against a
//! dummy hash when the email is unknown, so both failures take about the same time.
//!
//! Each hash or verification holds argon2's whole memory cost (19 MiB) while it runs, and a
//! request is all it takes to start one, so they are bounded: at most
//! [`HashLimits::at_once`] run at a time (derived from a memory budget), the rest wait up to
//! [`HashLimits::wait`] for a turn and then get a 503 with `Retry-After`. Without the bound,
//! 60 simultaneous failed logins took the service past 1 GiB.

use argon2::{
    Argon2,
    password_hash::{
        PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString, rand_core::OsRng,
    },
};

use std::{sync::Arc, time::Duration};

use docket_platform::{ApiError, config::Secret};
use tokio::sync::Semaphore;

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

/// How much hashing may run at once.
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    /// Hashes running at the same time; each holds [`HASH_MEMORY_MIB`].
    pub at_once: usize,
    /// How long a request waits for a turn before it is refused with 503.
    pub wait: Duration,
}

/// The memory one argon2 run holds (its `m_cost`, KiB → MiB, rounded up).
pub const HASH_MEMORY_MIB: usize = (argon2::Params::DEFAULT_M_COST as usize).div_ceil(1024);

impl HashLimits {
    /// The defaults of `PASSWORD_HASH_MEMORY_MIB` and `PASSWORD_HASH_WAIT_MS`: five hashes
    /// at once (about 95 MiB), a 512 MiB task's comfortable share.
    pub const DEFAULT_BUDGET_MIB: usize = 96;
    pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);

    /// As many hashes at once as fit in `budget_mib`, at least one.
    pub fn from_budget(budget_mib: usize, wait: Duration) -> Self {
        Self {
            at_once: (budget_mib / HASH_MEMORY_MIB).max(1),
            wait,
        }
    }
}

impl Default for HashLimits {
    fn default() -> Self {
        Self::from_budget(Self::DEFAULT_BUDGET_MIB, Self::DEFAULT_WAIT)
    }
}

/// Hashes and verifies with argon2id (OWASP parameters: 19 MiB, 2 iterations), a bounded
/// number at a time (see the module doc).
#[derive(Clone)]
pub struct PasswordHasher {
    dummy_hash: String,
    turns: Arc<Semaphore>,
    wait: Duration,
}

fn argon() -> Argon2<'static> {
    Argon2::default()
}

fn busy(wait: Duration) -> ApiError {
    ApiError::Busy {
        detail: "Too many sign-ins are being checked right now; try again in a moment.".into(),
        retry_after_secs: wait.as_secs().max(1),
    }
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

impl PasswordHasher {
    pub fn new(limits: HashLimits) -> anyhow::Result<Self> {
        Ok(Self {
            dummy_hash: hash_blocking("docket-dummy-password-for-timing")?,
            turns: Arc::new(Semaphore::new(limits.at_once)),
            wait: limits.wait,
        })
    }

    /// Runs `work` on the blocking pool once a turn is free; 503 when none frees up in time.
    /// The turn is held until `work` returns, even if the request is dropped meanwhile.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let turn = tokio::time::timeout(self.wait, self.turns.clone().acquire_owned())
            .await
            .map_err(|_| {
                tracing::warn!("password hashing saturated; refusing with 503");
                busy(self.wait)
            })?
            .map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(turn);
            out
        })
        .await
        .map_err(ApiError::internal)
    }

    pub async fn hash(&self, password: &Password) -> Result<String, ApiError> {
        let pw = password.0.expose().clone();
        Ok(self.run(move || hash_blocking(&pw)).await??)
    }

    /// Verifies `password` against `hash`, or against the dummy hash when `hash` is `None`
    /// (unknown email) so that both paths cost the same. Returns false in the second case.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, ApiError> {
        // Over-long input is refused before any hashing work.
        if password.len() > 256 {
            return Ok(false);
        }
        let known = hash.is_some();
        let hash = hash.unwrap_or(&self.dummy_hash).to_owned();
        let pw = password.to_owned();
        let ok = self
            .run(move || {
                PasswordHash::new(&hash)
                    .map(|parsed| argon().verify_password(pw.as_bytes(), &parsed).is_ok())
                    .unwrap_or(false)
            })
            .await?;
        Ok(known && ok)
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

    fn limits(at_once: usize, wait_ms: u64) -> HashLimits {
        HashLimits {
            at_once,
            wait: Duration::from_millis(wait_ms),
        }
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(limits(2, 5_000))?;
        let hash = hasher
            .hash(&Password::parse("correct horse").map_err(anyhow::Error::msg)?)
            .await?;
        assert!(hash.starts_with("$argon2id$"));
        assert!(hasher.verify("correct horse", Some(&hash)).await?);
        assert!(!hasher.verify("wrong horse", Some(&hash)).await?);
        assert!(
            !hasher
                .verify("docket-dummy-password-for-timing", None)
                .await?
        );
        Ok(())
    }

    #[test]
    fn the_budget_decides_how_many_hashes_run_at_once() {
        assert_eq!(HASH_MEMORY_MIB, 19);
        assert_eq!(HashLimits::from_budget(96, Duration::ZERO).at_once, 5);
        assert_eq!(HashLimits::from_budget(1, Duration::ZERO).at_once, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_beyond_the_bound_wait_then_are_refused_with_503() -> anyhow::Result<()> {
        // One turn, no waiting: of several verifications started together, the ones that
        // find the turn taken are refused at once, and never run.
        let hasher = PasswordHasher::new(limits(1, 0))?;
        let attempts = (0..6).map(|_| {
            let h = hasher.clone();
            tokio::spawn(async move { h.verify("correct horse", None).await })
        });
        let results = futures_util::future::join_all(attempts).await;
        let refused = results
            .iter()
            .filter(|r| matches!(r, Ok(Err(ApiError::Busy { .. }))))
            .count();
        let ran = results
            .iter()
            .filter(|r| matches!(r, Ok(Ok(false))))
            .count();
        assert!(ran >= 1, "at least one verification runs");
        assert!(refused >= 1, "the rest are refused while the turn is taken");
        assert_eq!(ran + refused, 6);
        // The turn comes back: the next one runs.
        assert!(!hasher.verify("correct horse", None).await?);
        Ok(())
    }
}

//! The auth service's settings, read once at start.

use std::{path::PathBuf, time::Duration};

use docket_platform::{
    config::{CommonSettings, ConfigError, Secret, Source},
    db::DbOptions,
};

use crate::domain::HashLimits;

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    pub database_url: Secret<String>,
    /// `DB_MAX_CONNECTIONS` and `MIGRATE_ON_START`.
    pub db: DbOptions,
    /// Where the generated signing key is kept when `JWT_PRIVATE_KEY` is not given.
    pub data_dir: PathBuf,
    /// The Ed25519 signing key as PKCS#8 PEM.
    pub jwt_private_key: Option<Secret<String>>,
    /// Or a generated random string the key is derived from (the ECS stack's, from Secrets
    /// Manager); at most one of the two is set.
    pub jwt_key_seed: Option<Secret<String>>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Clock skew tolerated when verifying tokens.
    pub jwt_leeway_secs: u64,
    /// `Secure` on the refresh cookie; turn off only for plain-http development hosts.
    pub cookie_secure: bool,
    /// How much password hashing may run at once (from a memory budget) and how long a
    /// request waits for a turn.
    pub hash_limits: HashLimits,
    /// `SERVICE_TOKEN`: lets the notifications service look users up.
    pub service_token: Option<Secret<String>>,
}

impl Settings {
    pub fn from_source(source: &Source) -> Result<Self, ConfigError> {
        let access_token_ttl = source.seconds("ACCESS_TOKEN_TTL_SECS", 15 * 60)?;
        if access_token_ttl.is_zero() || access_token_ttl > Duration::from_secs(24 * 3600) {
            return Err(ConfigError::new(
                "ACCESS_TOKEN_TTL_SECS",
                "must be 1..=86400",
            ));
        }
        let refresh_token_ttl = source.seconds("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?;
        if refresh_token_ttl.is_zero() {
            return Err(ConfigError::new(
                "REFRESH_TOKEN_TTL_SECS",
                "must be positive",
            ));
        }
        let hash_budget_mib: usize =
            source.parse("PASSWORD_HASH_MEMORY_MIB", HashLimits::DEFAULT_BUDGET_MIB)?;
        if hash_budget_mib == 0 {
            return Err(ConfigError::new(
                "PASSWORD_HASH_MEMORY_MIB",
                "must be positive",
            ));
        }
        let hash_limits = HashLimits::from_budget(
            hash_budget_mib,
            source.millis(
                "PASSWORD_HASH_WAIT_MS",
                HashLimits::DEFAULT_WAIT.as_millis() as u64,
            )?,
        );
        if source.get("JWT_PRIVATE_KEY").is_some() && source.get("JWT_KEY_SEED").is_some() {
            return Err(ConfigError::new(
                "JWT_KEY_SEED",
                "set JWT_PRIVATE_KEY or JWT_KEY_SEED, not both",
            ));
        }
        Ok(Self {
            common: CommonSettings::from_source(source, 8081)?,
            database_url: Secret::new(source.string("DATABASE_URL", "sqlite://data/auth.db")),
            db: DbOptions::from_source(source)?,
            data_dir: PathBuf::from(source.string("DATA_DIR", "data")),
            jwt_private_key: source
                .get("JWT_PRIVATE_KEY")
                .map(|k| Secret::new(k.to_owned())),
            jwt_key_seed: source
                .get("JWT_KEY_SEED")
                .map(|k| Secret::new(k.to_owned())),
            access_token_ttl,
            refresh_token_ttl,
            jwt_leeway_secs: source.parse("JWT_LEEWAY_SECS", 5)?,
            cookie_secure: source.bool("COOKIE_SECURE", true)?,
            hash_limits,
            service_token: docket_platform::config::service_token(source)?,
        })
    }
}

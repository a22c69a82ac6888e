//! The tickets service's settings, read once at start.

use std::time::Duration;

use docket_platform::{
    config::{CommonSettings, ConfigError, Secret, Source},
    db::DbOptions,
};

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    pub database_url: Secret<String>,
    /// `DB_MAX_CONNECTIONS` (every read is a single statement; SQLite serialises writes
    /// anyway, Postgres benefits from more) and `MIGRATE_ON_START`.
    pub db: DbOptions,
    /// The auth service: key set for tokens, and user look-ups for assignees.
    pub auth_url: String,
    /// The attachments service: deleting a ticket deletes its files there first.
    pub attachments_url: String,
    /// Clock skew tolerated when verifying tokens.
    pub jwt_leeway_secs: u64,
    /// Total time allowed for one call to another service.
    pub service_timeout: Duration,
    /// `SERVICE_TOKEN`: lets the notifications service read the event feed.
    pub service_token: Option<Secret<String>>,
}

impl Settings {
    pub fn from_source(source: &Source) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonSettings::from_source(source, 8082)?,
            database_url: Secret::new(source.string("DATABASE_URL", "sqlite://data/tickets.db")),
            db: DbOptions::from_source(source)?,
            auth_url: source.url("AUTH_URL", "http://127.0.0.1:8081")?,
            attachments_url: source.url("ATTACHMENTS_URL", "http://127.0.0.1:8083")?,
            jwt_leeway_secs: source.parse("JWT_LEEWAY_SECS", 5)?,
            service_timeout: source.millis("SERVICE_TIMEOUT_MS", 10_000)?,
            service_token: docket_platform::config::service_token(source)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract_and_bad_values_name_their_variable() {
        let s = Settings::from_source(&Source::from_pairs::<&str, &str>([])).unwrap();
        assert_eq!(s.common.port, 8082);
        assert_eq!(s.database_url.expose(), "sqlite://data/tickets.db");
        assert_eq!(s.auth_url, "http://127.0.0.1:8081");
        assert_eq!(s.attachments_url, "http://127.0.0.1:8083");
        let err =
            Settings::from_source(&Source::from_pairs([("AUTH_URL", "ftp://x")])).unwrap_err();
        assert_eq!(err.var, "AUTH_URL");
    }
}

//! The notifications service's settings, read once at start and validated there: a bad
//! address, URL or backend stops the service with the variable's name.

use std::time::Duration;

use docket_platform::{
    config::{CommonSettings, ConfigError, Secret, Source},
    db::DbOptions,
};

/// Where mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailBackend {
    /// Each message is written to the log and kept in the outbox (the embedded default).
    Log,
    /// An SMTP relay: `SMTP_URL` as lettre reads it — `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (implicit TLS), `smtp://host:1025` (plain, for
    /// a local catcher such as Mailpit).
    Smtp { url: Secret<String> },
}

impl EmailBackend {
    pub fn name(&self) -> &'static str {
        match self {
            EmailBackend::Log => "log",
            EmailBackend::Smtp { .. } => "smtp",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    pub database_url: Secret<String>,
    pub db: DbOptions,
    pub auth_url: String,
    pub tickets_url: String,
    /// Presented to the tickets and auth services' `/internal/service` routes.
    pub service_token: Secret<String>,
    pub jwt_leeway_secs: u64,
    pub email_backend: EmailBackend,
    /// `EMAIL_FROM`: `Docket <support@example.com>` or a bare address; its domain names the
    /// Message-IDs.
    pub email_from: lettre::message::Mailbox,
    /// `PUBLIC_URL`: the web app's address, for links in mail (no trailing slash).
    pub public_url: String,
    /// `NOTIFY_SIGNING_KEY`: signs unsubscribe tokens (at least 32 characters).
    pub signing_key: Secret<String>,
    /// How often the feed is read when it had nothing new.
    pub poll_interval: Duration,
    /// Events read from the feed at a time (and applied in one transaction).
    pub batch_size: u32,
    /// Attempts before a message is dead-lettered (`failed`).
    pub max_attempts: u32,
    /// The first retry's delay; each further retry doubles it, up to an hour.
    pub retry_base: Duration,
    /// Messages sent at once.
    pub send_concurrency: usize,
    /// How long one SMTP send may take. A claimed mail is leased for twice this: a mail
    /// whose sender died is tried again after that.
    pub send_timeout: Duration,
}

impl Settings {
    pub fn from_source(source: &Source) -> Result<Self, ConfigError> {
        let email_backend = match source.string("EMAIL_BACKEND", "log").as_str() {
            "log" => EmailBackend::Log,
            "smtp" => {
                let url = source.required("SMTP_URL")?;
                if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                    return Err(ConfigError::new(
                        "SMTP_URL",
                        "must start with smtp:// or smtps://",
                    ));
                }
                // Parsed once here so a typo stops the service at start (never echoed: it
                // may hold a password).
                lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url)
                    .map_err(|_| ConfigError::new("SMTP_URL", "is not a valid SMTP URL"))?;
                EmailBackend::Smtp {
                    url: Secret::new(url),
                }
            }
            other => {
                return Err(ConfigError::new(
                    "EMAIL_BACKEND",
                    format!("{other:?} is not one of log, smtp"),
                ));
            }
        };
        let email_from = source
            .string("EMAIL_FROM", "Docket <support@docket.localhost>")
            .parse::<lettre::message::Mailbox>()
            .map_err(|_| ConfigError::new("EMAIL_FROM", "is not an email address"))?;
        let public_url = source
            .url("PUBLIC_URL", "http://127.0.0.1:8080")?
            .trim_end_matches('/')
            .to_owned();
        let service_token = docket_platform::config::service_token(source)?
            .ok_or_else(|| ConfigError::new("SERVICE_TOKEN", "is required"))?;
        let signing_key = source.required("NOTIFY_SIGNING_KEY")?;
        if signing_key.len() < 32 {
            return Err(ConfigError::new(
                "NOTIFY_SIGNING_KEY",
                "must be at least 32 characters",
            ));
        }
        let batch_size: u32 = source.parse("NOTIFY_BATCH_SIZE", 200)?;
        if !(1..=500).contains(&batch_size) {
            return Err(ConfigError::new("NOTIFY_BATCH_SIZE", "must be 1..=500"));
        }
        let max_attempts: u32 = source.parse("NOTIFY_MAX_ATTEMPTS", 8)?;
        if max_attempts == 0 {
            return Err(ConfigError::new("NOTIFY_MAX_ATTEMPTS", "must be positive"));
        }
        let send_concurrency: usize = source.parse("NOTIFY_SEND_CONCURRENCY", 4)?;
        if send_concurrency == 0 {
            return Err(ConfigError::new(
                "NOTIFY_SEND_CONCURRENCY",
                "must be positive",
            ));
        }
        let send_timeout = source.seconds("NOTIFY_SEND_TIMEOUT_SECS", 30)?;
        if send_timeout.is_zero() {
            return Err(ConfigError::new(
                "NOTIFY_SEND_TIMEOUT_SECS",
                "must be positive",
            ));
        }
        let poll_interval = source.millis("NOTIFY_POLL_MS", 1000)?;
        if poll_interval.is_zero() {
            return Err(ConfigError::new("NOTIFY_POLL_MS", "must be positive"));
        }
        Ok(Self {
            common: CommonSettings::from_source(source, 8084)?,
            database_url: Secret::new(
                source.string("DATABASE_URL", "sqlite://data/notifications.db"),
            ),
            db: DbOptions::from_source(source)?,
            auth_url: source.url("AUTH_URL", "http://127.0.0.1:8081")?,
            tickets_url: source.url("TICKETS_URL", "http://127.0.0.1:8082")?,
            service_token,
            jwt_leeway_secs: source.parse("JWT_LEEWAY_SECS", 5)?,
            email_backend,
            email_from,
            public_url,
            signing_key: Secret::new(signing_key),
            poll_interval,
            batch_size,
            max_attempts,
            retry_base: source.millis("NOTIFY_RETRY_BASE_MS", 30_000)?,
            send_concurrency,
            send_timeout,
        })
    }

    /// The domain of `EMAIL_FROM`, for Message-IDs.
    pub fn mail_domain(&self) -> String {
        self.email_from.email.domain().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut all = vec![("SERVICE_TOKEN", TOKEN), ("NOTIFY_SIGNING_KEY", TOKEN)];
        all.extend_from_slice(pairs);
        Settings::from_source(&Source::from_pairs(all))
    }

    #[test]
    fn defaults_are_the_log_backend_on_port_8084() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.email_backend, EmailBackend::Log);
        assert_eq!(s.common.port, 8084);
        assert_eq!(s.mail_domain(), "docket.localhost");
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn smtp_needs_a_valid_url_and_bad_values_name_their_variable() {
        assert_eq!(
            settings(&[("EMAIL_BACKEND", "smtp")]).unwrap_err().var,
            "SMTP_URL"
        );
        let err = settings(&[("EMAIL_BACKEND", "smtp"), ("SMTP_URL", "http://x")]).unwrap_err();
        assert_eq!(err.var, "SMTP_URL");
        let ok = settings(&[
            ("EMAIL_BACKEND", "smtp"),
            (
                "SMTP_URL",
                "smtp://user:secret@mail.example.com:587?tls=required",
            ),
        ])
        .unwrap();
        assert_eq!(ok.email_backend.name(), "smtp");
        assert!(
            !format!("{ok:?}").contains("secret"),
            "the password is never printed"
        );
        assert_eq!(
            settings(&[("EMAIL_BACKEND", "pigeon")]).unwrap_err().var,
            "EMAIL_BACKEND"
        );
        assert_eq!(
            settings(&[("EMAIL_FROM", "not an address")])
                .unwrap_err()
                .var,
            "EMAIL_FROM"
        );
        assert_eq!(
            settings(&[("PUBLIC_URL", "ftp://x")]).unwrap_err().var,
            "PUBLIC_URL"
        );
    }

    #[test]
    fn the_service_token_and_signing_key_are_required_and_long() {
        let err = Settings::from_source(&Source::from_pairs([("NOTIFY_SIGNING_KEY", TOKEN)]))
            .unwrap_err();
        assert_eq!(err.var, "SERVICE_TOKEN");
        assert_eq!(
            settings(&[("NOTIFY_SIGNING_KEY", "short")])
                .unwrap_err()
                .var,
            "NOTIFY_SIGNING_KEY"
        );
    }
}

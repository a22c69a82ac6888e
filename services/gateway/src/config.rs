//! The gateway's settings.

use std::{path::PathBuf, time::Duration};

use docket_platform::config::{CommonSettings, ConfigError, Source};

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    pub auth_url: String,
    /// Clock skew allowed when checking an access token (an admin's, for `/health`).
    pub jwt_leeway_secs: u64,
    pub tickets_url: String,
    pub attachments_url: String,
    pub notifications_url: String,
    /// The built web app; a placeholder page is served when it is missing.
    pub web_dir: PathBuf,
    /// Origins allowed to call the API from a browser (CORS), from `FRONTEND_URL`.
    pub allowed_origins: Vec<String>,
    /// Send `Strict-Transport-Security` (only when served over TLS, e.g. behind the ALB).
    pub hsts: bool,
    pub connect_timeout: Duration,
    /// How long a service may take to answer a request without a large body.
    pub upstream_timeout: Duration,
    /// The same for requests that stream a body (uploads).
    pub upload_timeout: Duration,
    /// Proxies in front of the gateway whose `X-Forwarded-For` entries are trusted.
    pub trusted_proxy_hops: usize,
    /// The largest file an upload may carry (the attachments service's `MAX_UPLOAD_BYTES`):
    /// bounds what the gateway forwards.
    pub max_upload_bytes: u64,
    pub limits: crate::limits::LimitSettings,
    /// Extra `connect-src` sources for the web app (the attachments bucket's origin on S3).
    pub csp_connect_src: Vec<String>,
}

impl Settings {
    pub fn from_source(source: &Source) -> Result<Self, ConfigError> {
        let allowed_origins = source.list("FRONTEND_URL");
        for origin in &allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://"))
                || origin.ends_with('/')
            {
                return Err(ConfigError::new(
                    "FRONTEND_URL",
                    format!("{origin:?} is not an origin like https://help.example.com"),
                ));
            }
        }
        Ok(Self {
            common: CommonSettings::from_source(source, 8080)?,
            auth_url: source.url("AUTH_URL", "http://127.0.0.1:8081")?,
            jwt_leeway_secs: source.parse("JWT_LEEWAY_SECS", 5)?,
            tickets_url: source.url("TICKETS_URL", "http://127.0.0.1:8082")?,
            attachments_url: source.url("ATTACHMENTS_URL", "http://127.0.0.1:8083")?,
            notifications_url: source.url("NOTIFICATIONS_URL", "http://127.0.0.1:8084")?,
            web_dir: PathBuf::from(source.string("WEB_DIR", "frontend/dist")),
            allowed_origins,
            hsts: source.bool("HSTS", false)?,
            connect_timeout: source.millis("CONNECT_TIMEOUT_MS", 2_000)?,
            upstream_timeout: source.millis("UPSTREAM_TIMEOUT_MS", 30_000)?,
            upload_timeout: source.millis("UPLOAD_TIMEOUT_MS", 300_000)?,
            trusted_proxy_hops: source.parse("TRUSTED_PROXY_HOPS", 0)?,
            max_upload_bytes: source.parse("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)?,
            limits: crate::limits::LimitSettings::from_source(source)?,
            csp_connect_src: {
                let list = source.list("CSP_CONNECT_SRC");
                if let Some(bad) = list
                    .iter()
                    .find(|s| s.contains([';', '\'', '"']) || s.chars().any(char::is_whitespace))
                {
                    return Err(ConfigError::new(
                        "CSP_CONNECT_SRC",
                        format!("{bad:?} is not a CSP source"),
                    ));
                }
                list
            },
        })
    }
}

//! Settings from the environment, optionally filled from an AWS Secrets Manager secret.
//!
//! Every service reads its settings through [`Source`], which is the process environment
//! plus, when `SECRETS_ID` is set, the keys of that secret (a JSON object). A variable set in
//! the environment wins over the same key in the secret, so an operator can still override one
//! value by hand. Parsing stops at the first bad value with an error naming the variable.

use std::{collections::HashMap, fmt, str::FromStr, time::Duration};

use anyhow::Context as _;

/// An error in one named setting; its `Display` names the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {var}: {message}")]
pub struct ConfigError {
    pub var: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(var: &str, message: impl Into<String>) -> Self {
        Self {
            var: var.to_owned(),
            message: message.into(),
        }
    }
}

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// The wrapped value; call sites that use it are the only places a secret is visible.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where settings come from: a map of variable names to values.
#[derive(Clone, Default)]
pub struct Source {
    vars: HashMap<String, String>,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets; only the names are shown.
        let mut names: Vec<_> = self.vars.keys().collect();
        names.sort();
        f.debug_struct("Source").field("names", &names).finish()
    }
}

impl Source {
    /// A source from explicit pairs, for tests and tools.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The process environment, plus the secret named by `SECRETS_ID` when set.
    pub async fn load() -> anyhow::Result<Self> {
        let mut source = Self::from_pairs(std::env::vars());
        source.fill_from_secrets_manager().await?;
        Ok(source)
    }

    /// When `SECRETS_ID` is set, fetch that secret and add its keys that are not already set.
    pub async fn fill_from_secrets_manager(&mut self) -> anyhow::Result<()> {
        let Some(secret_id) = self.get("SECRETS_ID").map(str::to_owned) else {
            return Ok(());
        };
        let values = fetch_secret(&secret_id, self).await?;
        let mut filled = Vec::new();
        for (key, value) in values {
            if let std::collections::hash_map::Entry::Vacant(slot) = self.vars.entry(key) {
                filled.push(slot.key().clone());
                slot.insert(value);
            }
        }
        filled.sort();
        tracing::info!(secret_id = %secret_id, keys = ?filled, "settings filled from Secrets Manager");
        Ok(())
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(key.into(), value.into());
    }

    /// The raw value; empty strings count as unset.
    pub fn get(&self, var: &str) -> Option<&str> {
        self.vars
            .get(var)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    pub fn string(&self, var: &str, default: &str) -> String {
        self.get(var).unwrap_or(default).to_owned()
    }

    pub fn required(&self, var: &str) -> Result<String, ConfigError> {
        self.get(var)
            .map(str::to_owned)
            .ok_or_else(|| ConfigError::new(var, "is required"))
    }

    /// A value parsed with `FromStr`, or the default when unset.
    pub fn parse<T>(&self, var: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e| ConfigError::new(var, format!("{raw:?}: {e}"))),
        }
    }

    pub fn seconds(&self, var: &str, default: u64) -> Result<Duration, ConfigError> {
        self.parse(var, default).map(Duration::from_secs)
    }

    pub fn millis(&self, var: &str, default: u64) -> Result<Duration, ConfigError> {
        self.parse(var, default).map(Duration::from_millis)
    }

    pub fn bool(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
            Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
            Some(v) => Err(ConfigError::new(var, format!("{v:?} is not a boolean"))),
        }
    }

    /// A comma-separated list; blanks dropped.
    pub fn list(&self, var: &str) -> Vec<String> {
        self.get(var)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A base URL (http or https), without a trailing slash.
    pub fn url(&self, var: &str, default: &str) -> Result<String, ConfigError> {
        let raw = self.string(var, default);
        let parsed = reqwest::Url::parse(&raw).map_err(|e| ConfigError::new(var, e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError::new(var, "must be an http or https URL"));
        }
        Ok(raw.trim_end_matches('/').to_owned())
    }
}

/// Reads one secret's JSON object of strings. The endpoint honours `AWS_ENDPOINT_URL`
/// (and `AWS_ENDPOINT_URL_SECRETS_MANAGER`) as aws-config does.
async fn fetch_secret(secret_id: &str, source: &Source) -> anyhow::Result<Vec<(String, String)>> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = source.get("AWS_REGION") {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    if let Some(endpoint) = source
        .get("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        .or_else(|| source.get("AWS_ENDPOINT_URL"))
    {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader.load().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .with_context(|| format!("reading secret {secret_id} from Secrets Manager"))?;
    let text = output
        .secret_string()
        .with_context(|| format!("secret {secret_id} has no string value"))?;
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .with_context(|| format!("secret {secret_id} is not a JSON object"))?;
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            serde_json::Value::Number(n) => Some((k, n.to_string())),
            serde_json::Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect())
}

/// `SERVICE_TOKEN`: the shared secret services present (`X-Service-Token`) on internal routes
/// that answer for no user. Unset: those routes are off. Set: at least 32 characters.
pub fn service_token(source: &Source) -> Result<Option<Secret<String>>, ConfigError> {
    match source.get("SERVICE_TOKEN") {
        None | Some("") => Ok(None),
        Some(t) if t.len() < 32 => Err(ConfigError::new(
            "SERVICE_TOKEN",
            "must be at least 32 characters (e.g. `openssl rand -hex 32`)",
        )),
        Some(t) => Ok(Some(Secret::new(t.to_owned()))),
    }
}

/// Settings every service shares.
#[derive(Debug, Clone)]
pub struct CommonSettings {
    pub host: String,
    pub port: u16,
    pub log_level: String,
    pub log_format: crate::telemetry::LogFormat,
    /// How long in-flight requests may run after SIGTERM (ECS kills 30 s after it).
    pub shutdown_drain: Duration,
    /// Largest JSON request body accepted.
    pub max_json_bytes: usize,
}

impl CommonSettings {
    pub fn from_source(source: &Source, default_port: u16) -> Result<Self, ConfigError> {
        Ok(Self {
            host: source.string("HOST", "127.0.0.1"),
            port: source.parse("PORT", default_port)?,
            log_level: source.string("LOG_LEVEL", "info"),
            log_format: source.parse("LOG_FORMAT", crate::telemetry::LogFormat::Pretty)?,
            shutdown_drain: source.seconds("SHUTDOWN_DRAIN_SECS", 25)?,
            max_json_bytes: source.parse("MAX_JSON_BYTES", 1024 * 1024)?,
        })
    }
}

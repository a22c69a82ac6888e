//! The attachments service's settings, read once at start and validated there.

use std::{path::PathBuf, time::Duration};

use docket_platform::{
    config::{CommonSettings, ConfigError, Secret, Source},
    db::DbOptions,
};

/// S3's own ceiling for a presigned URL's lifetime.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where the bytes live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageSettings {
    /// Files under `UPLOAD_DIR`.
    Local,
    /// Objects in an S3 bucket.
    S3 {
        bucket: String,
        region: String,
        /// LocalStack, moto or another S3 API; path-style addressing is used with it.
        endpoint_url: Option<String>,
        /// The endpoint presigned download URLs name, when the browser reaches S3 at another
        /// address than the service does (compose: `localstack:4566` inside the network,
        /// `127.0.0.1:4566` on the host). `None`: the same as `endpoint_url`.
        presign_endpoint_url: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    pub database_url: Secret<String>,
    /// `DB_MAX_CONNECTIONS` and `MIGRATE_ON_START`.
    pub db: DbOptions,
    pub storage: StorageSettings,
    /// Local storage's root, and in both modes the spool folder (`UPLOAD_DIR/tmp`) where an
    /// incoming file is counted and sniffed before it reaches the storage backend.
    pub upload_dir: PathBuf,
    /// Largest file accepted, inclusive.
    pub max_upload_bytes: u64,
    pub presign_expiry: Duration,
    pub auth_url: String,
    pub tickets_url: String,
    /// Clock skew tolerated when verifying tokens.
    pub jwt_leeway_secs: u64,
    /// How often the service sweeps (one replica at a time, by a lease); `None` = never.
    pub sweep_interval: Option<Duration>,
    /// Rows, objects and spool files younger than this are never swept: longer than any
    /// upload can take between its claim and its commit.
    pub sweep_grace: Duration,
}

impl Settings {
    pub fn from_source(source: &Source) -> Result<Self, ConfigError> {
        let storage = match source.string("STORAGE_TYPE", "local").as_str() {
            "local" => StorageSettings::Local,
            "s3" => StorageSettings::S3 {
                bucket: source.required("S3_ATTACHMENTS_BUCKET")?,
                region: source.string("AWS_REGION", "us-east-1"),
                endpoint_url: match source.get("AWS_ENDPOINT_URL") {
                    Some(_) => Some(source.url("AWS_ENDPOINT_URL", "")?),
                    None => None,
                },
                presign_endpoint_url: match source.get("S3_PRESIGN_ENDPOINT_URL") {
                    Some(_) => Some(source.url("S3_PRESIGN_ENDPOINT_URL", "")?),
                    None => None,
                },
            },
            other => {
                return Err(ConfigError::new(
                    "STORAGE_TYPE",
                    format!("{other:?} is not one of local, s3"),
                ));
            }
        };
        let max_upload_bytes: u64 = source.parse("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)?;
        if max_upload_bytes == 0 {
            return Err(ConfigError::new("MAX_UPLOAD_BYTES", "must be positive"));
        }
        let presign_expiry = source.seconds("PRESIGN_EXPIRY_SECS", 3600)?;
        if presign_expiry.is_zero() || presign_expiry > MAX_PRESIGN_EXPIRY {
            return Err(ConfigError::new(
                "PRESIGN_EXPIRY_SECS",
                "must be 1..=604800 (S3 presigned URLs live at most 7 days)",
            ));
        }
        let sweep_interval = source.seconds("SWEEP_INTERVAL_SECS", 900)?;
        let sweep_grace = source.seconds("SWEEP_GRACE_SECS", 3600)?;
        if sweep_grace.is_zero() {
            return Err(ConfigError::new(
                "SWEEP_GRACE_SECS",
                "must be positive (uploads in flight would be swept)",
            ));
        }
        Ok(Self {
            common: CommonSettings::from_source(source, 8083)?,
            database_url: Secret::new(
                source.string("DATABASE_URL", "sqlite://data/attachments.db"),
            ),
            db: DbOptions::from_source(source)?,
            storage,
            upload_dir: PathBuf::from(source.string("UPLOAD_DIR", "data/uploads")),
            max_upload_bytes,
            presign_expiry,
            auth_url: source.url("AUTH_URL", "http://127.0.0.1:8081")?,
            tickets_url: source.url("TICKETS_URL", "http://127.0.0.1:8082")?,
            jwt_leeway_secs: source.parse("JWT_LEEWAY_SECS", 5)?,
            sweep_interval: (!sweep_interval.is_zero()).then_some(sweep_interval),
            sweep_grace,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_source(&Source::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_are_local_storage_ten_mebibytes_and_an_hour() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.storage, StorageSettings::Local);
        assert_eq!(s.common.port, 8083);
        assert_eq!(s.max_upload_bytes, 10 * 1024 * 1024);
        assert_eq!(s.presign_expiry, Duration::from_secs(3600));
        assert_eq!(s.sweep_interval, Some(Duration::from_secs(900)));
        assert_eq!(s.sweep_grace, Duration::from_secs(3600));
    }

    #[test]
    fn a_sweep_interval_of_zero_turns_the_schedule_off_and_a_zero_grace_is_refused() {
        let s = settings(&[("SWEEP_INTERVAL_SECS", "0")]).unwrap();
        assert_eq!(s.sweep_interval, None);
        let err = settings(&[("SWEEP_GRACE_SECS", "0")]).unwrap_err();
        assert_eq!(err.var, "SWEEP_GRACE_SECS");
    }

    #[test]
    fn a_presign_expiry_over_seven_days_is_refused_at_start() {
        let err = settings(&[("PRESIGN_EXPIRY_SECS", "604801")]).unwrap_err();
        assert_eq!(err.var, "PRESIGN_EXPIRY_SECS");
        assert!(settings(&[("PRESIGN_EXPIRY_SECS", "604800")]).is_ok());
    }

    #[test]
    fn s3_storage_needs_a_bucket() {
        let err = settings(&[("STORAGE_TYPE", "s3")]).unwrap_err();
        assert_eq!(err.var, "S3_ATTACHMENTS_BUCKET");
        let err = settings(&[("STORAGE_TYPE", "ftp")]).unwrap_err();
        assert_eq!(err.var, "STORAGE_TYPE");
    }
}

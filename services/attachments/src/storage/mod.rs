//! One storage interface, two backends, chosen by `STORAGE_TYPE`.
//!
//! Keys are made by the server only — `attachments/<uuid><ext>` — so no user input ever forms
//! a path or an object name; both backends refuse any other key shape. A file reaches
//! storage from the spool (see [`crate::upload`]) with its size known: local storage renames
//! the spooled file into place (a same-folder rename, atomic); S3 puts it in one request up to
//! one part and in 5 MiB parts beyond (aborting the multipart upload on any error), always with
//! SSE AES256. Deletes are idempotent: a key already gone is not an error.

pub mod local;
pub mod s3;

use std::{path::Path, sync::Arc};

use docket_platform::health::{CheckOutcome, HealthCheck};
use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::{config::Settings, domain::SafeFilename};

pub use local::LocalStorage;
pub use s3::S3Storage;

pub const KEY_PREFIX: &str = "attachments/";

/// A storage failure. Every one but `NotFound` means the backend is unavailable (503).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no object under this key")]
    NotFound,
    #[error("storage unavailable: {0:#}")]
    Unavailable(anyhow::Error),
}

impl StorageError {
    pub fn unavailable(e: impl Into<anyhow::Error>) -> Self {
        StorageError::Unavailable(e.into())
    }
}

impl From<StorageError> for docket_platform::ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => docket_platform::ApiError::not_found("attachment"),
            StorageError::Unavailable(cause) => {
                tracing::warn!(error = ?cause, "storage failed");
                docket_platform::ApiError::ServiceUnavailable(
                    "File storage is unavailable; nothing was changed. Try again shortly.".into(),
                )
            }
        }
    }
}

/// How a download is answered.
pub enum Download {
    /// S3: a presigned URL that answers with the safe `Content-Disposition`.
    Redirect(String),
    /// Local: the bytes, streamed.
    Stream { body: poem::Body, size: u64 },
}

/// An object found in storage, for the sweep.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub key: String,
    /// Last modified, unix milliseconds.
    pub modified_ms: i64,
}

pub trait Storage: Send + Sync {
    fn kind(&self) -> &'static str;

    /// Stores the spooled file at `spool` (`size` bytes) under `key`. Local storage moves the
    /// file; S3 copies it and leaves the spool file for the caller to remove.
    fn put<'a>(
        &'a self,
        key: &'a str,
        spool: &'a Path,
        size: u64,
        content_type: &'a str,
    ) -> BoxFuture<'a, Result<(), StorageError>>;

    fn download<'a>(
        &'a self,
        key: &'a str,
        filename: &'a SafeFilename,
        content_type: &'a str,
    ) -> BoxFuture<'a, Result<Download, StorageError>>;

    /// Removes the object; a missing one is fine.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>>;

    /// Every object under `attachments/`.
    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredObject>, StorageError>>;

    /// Health: reachable and writable.
    fn check(&self) -> BoxFuture<'_, CheckOutcome>;
}

/// A fresh key for a file of the given extension (with its dot).
pub fn new_key(extension: &str) -> String {
    format!("{KEY_PREFIX}{}{extension}", Uuid::new_v4())
}

/// True for keys this service makes: `attachments/<uuid>` plus an optional `.ext` of ASCII
/// letters. Both backends refuse anything else before touching a file or an object.
pub fn is_valid_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix(KEY_PREFIX) else {
        return false;
    };
    let (id, ext) = rest.split_at(rest.len().min(36));
    Uuid::try_parse(id).is_ok()
        && id.len() == 36
        && (ext.is_empty()
            || ext.strip_prefix('.').is_some_and(|e| {
                !e.is_empty() && e.len() <= 8 && e.bytes().all(|b| b.is_ascii_alphanumeric())
            }))
}

fn check_key(key: &str) -> Result<(), StorageError> {
    if is_valid_key(key) {
        Ok(())
    } else {
        Err(StorageError::unavailable(anyhow::anyhow!(
            "refusing malformed storage key {key:?}"
        )))
    }
}

/// The backend the settings name.
pub async fn from_settings(settings: &Settings) -> anyhow::Result<Arc<dyn Storage>> {
    Ok(match &settings.storage {
        crate::config::StorageSettings::Local => {
            Arc::new(LocalStorage::new(&settings.upload_dir).await?)
        }
        crate::config::StorageSettings::S3 {
            bucket,
            region,
            endpoint_url,
            presign_endpoint_url,
        } => {
            let s3 = S3Storage::new(
                bucket,
                region,
                endpoint_url.as_deref(),
                settings.presign_expiry,
            )
            .await;
            Arc::new(match presign_endpoint_url {
                Some(url) => s3.with_presign_endpoint(url),
                None => s3,
            })
        }
    })
}

/// The storage health check (critical: without storage, uploads and downloads fail).
pub struct StorageCheck(pub Arc<dyn Storage>);

impl HealthCheck for StorageCheck {
    fn name(&self) -> &str {
        "storage"
    }
    fn critical(&self) -> bool {
        true
    }
    fn check(&self) -> BoxFuture<'_, CheckOutcome> {
        self.0.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_made_keys_are_valid() {
        assert!(is_valid_key(&new_key(".png")));
        assert!(is_valid_key(&new_key("")));
        for bad in [
            "attachments/../etc/passwd",
            "attachments/x.png",
            "other/0190a0c2-5d2e-4f5e-9a7c-8d6f1b2e3a4b.png",
            "attachments/0190a0c2-5d2e-4f5e-9a7c-8d6f1b2e3a4b/../x",
            "attachments/0190a0c2-5d2e-4f5e-9a7c-8d6f1b2e3a4b.p/g",
        ] {
            assert!(!is_valid_key(bad), "{bad}");
        }
    }
}

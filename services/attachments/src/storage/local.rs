//! Files under `UPLOAD_DIR`: objects in `attachments/`, spooled uploads in `tmp/` (same file
//! system, so putting an object is a rename: a reader sees the whole file or none).

use std::path::{Path, PathBuf};

use docket_platform::health::{CheckOutcome, disk_space};
use futures_util::future::BoxFuture;

use super::{Download, KEY_PREFIX, Storage, StorageError, StoredObject, check_key};
use crate::domain::SafeFilename;

/// Below this much free space the health check fails (uploads would soon fail too).
const MIN_FREE_BYTES: u64 = 256 * 1024 * 1024;

pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    pub async fn new(root: &Path) -> anyhow::Result<Self> {
        tokio::fs::create_dir_all(root.join(KEY_PREFIX)).await?;
        tokio::fs::create_dir_all(root.join("tmp")).await?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, StorageError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

impl Storage for LocalStorage {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        spool: &'a Path,
        _size: u64,
        _content_type: &'a str,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let target = self.path_of(key)?;
            tokio::fs::rename(spool, &target)
                .await
                .map_err(StorageError::unavailable)
        })
    }

    fn download<'a>(
        &'a self,
        key: &'a str,
        _filename: &'a SafeFilename,
        _content_type: &'a str,
    ) -> BoxFuture<'a, Result<Download, StorageError>> {
        Box::pin(async move {
            let path = self.path_of(key)?;
            let file = match tokio::fs::File::open(&path).await {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(StorageError::NotFound);
                }
                Err(e) => return Err(StorageError::unavailable(e)),
            };
            let size = file
                .metadata()
                .await
                .map_err(StorageError::unavailable)?
                .len();
            Ok(Download::Stream {
                body: poem::Body::from_async_read(file),
                size,
            })
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let path = self.path_of(key)?;
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(StorageError::unavailable(e)),
            }
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredObject>, StorageError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let mut dir = tokio::fs::read_dir(self.root.join(KEY_PREFIX))
                .await
                .map_err(StorageError::unavailable)?;
            while let Some(entry) = dir.next_entry().await.map_err(StorageError::unavailable)? {
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                let modified_ms = entry
                    .metadata()
                    .await
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .map(|t| chrono::DateTime::<chrono::Utc>::from(t).timestamp_millis())
                    .unwrap_or(0);
                out.push(StoredObject {
                    key: format!("{KEY_PREFIX}{name}"),
                    modified_ms,
                });
            }
            Ok(out)
        })
    }

    fn check(&self) -> BoxFuture<'_, CheckOutcome> {
        Box::pin(async move {
            let probe = self
                .root
                .join("tmp")
                .join(format!(".health-{}", uuid::Uuid::new_v4()));
            if let Err(e) = tokio::fs::write(&probe, b"ok").await {
                tracing::warn!(error = %e, "upload folder is not writable");
                return CheckOutcome::fail("upload folder is not writable");
            }
            let _ = tokio::fs::remove_file(&probe).await;
            match disk_space(&self.root) {
                Some((_, avail)) if avail < MIN_FREE_BYTES => CheckOutcome::fail(format!(
                    "upload folder writable; only {} MiB free",
                    avail / (1024 * 1024)
                )),
                Some((_, avail)) => CheckOutcome::pass(format!(
                    "upload folder writable; {} MiB free",
                    avail / (1024 * 1024)
                )),
                None => CheckOutcome::warn("upload folder writable; free space unknown"),
            }
        })
    }
}

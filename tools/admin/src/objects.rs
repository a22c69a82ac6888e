//! The attachments service's storage, as its settings name it: files under `UPLOAD_DIR`
//! (`attachments/<uuid><ext>`; `tmp/` holds uploads in flight and is never copied) or objects
//! in `S3_ATTACHMENTS_BUCKET` under the same keys, written with SSE AES256 as the service
//! writes them.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use aws_sdk_s3::{Client, primitives::ByteStream, types::ServerSideEncryption};

/// Keys the service makes, and the only ones the tool copies.
pub const KEY_PREFIX: &str = "attachments/";

pub enum Storage {
    Local(PathBuf),
    S3 { client: Client, bucket: String },
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// An object read from storage.
#[derive(Debug)]
pub struct Object {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
}

/// A key the service could have made: `attachments/` and one plain file name.
fn check_key(key: &str) -> anyhow::Result<&str> {
    match key.strip_prefix(KEY_PREFIX) {
        Some(name)
            if !name.is_empty()
                && !name.contains(['/', '\\'])
                && name != "."
                && name != ".."
                && !name.starts_with('.') =>
        {
            Ok(name)
        }
        _ => bail!("{key:?} is not an attachment key"),
    }
}

impl Storage {
    pub fn kind(&self) -> &'static str {
        match self {
            Storage::Local(_) => "local",
            Storage::S3 { .. } => "s3",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Storage::Local(dir) => format!("local {}", dir.display()),
            Storage::S3 { bucket, .. } => format!("s3://{bucket}"),
        }
    }

    /// Every object key under [`KEY_PREFIX`], sorted.
    pub async fn list(&self) -> anyhow::Result<Vec<String>> {
        let mut keys = Vec::new();
        match self {
            Storage::Local(root) => {
                let dir = root.join(KEY_PREFIX);
                let mut entries = match tokio::fs::read_dir(&dir).await {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
                    Err(e) => {
                        return Err(e).with_context(|| format!("listing {}", dir.display()));
                    }
                };
                while let Some(entry) = entries.next_entry().await? {
                    if entry.file_type().await?.is_file()
                        && let Some(name) = entry.file_name().to_str()
                    {
                        let key = format!("{KEY_PREFIX}{name}");
                        if check_key(&key).is_ok() {
                            keys.push(key);
                        }
                    }
                }
            }
            Storage::S3 { client, bucket } => {
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(KEY_PREFIX)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.with_context(|| format!("listing s3://{bucket}"))?;
                    keys.extend(
                        page.contents()
                            .iter()
                            .filter_map(|o| o.key().map(str::to_owned)),
                    );
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    /// The object under `key`, or `None` when there is none.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<Object>> {
        check_key(key)?;
        match self {
            Storage::Local(root) => match tokio::fs::read(root.join(key)).await {
                Ok(bytes) => Ok(Some(Object {
                    bytes,
                    content_type: None,
                })),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e).with_context(|| format!("reading {key}")),
            },
            Storage::S3 { client, bucket } => {
                match client.get_object().bucket(bucket).key(key).send().await {
                    Ok(out) => {
                        let content_type = out.content_type().map(str::to_owned);
                        let bytes = out
                            .body
                            .collect()
                            .await
                            .with_context(|| format!("reading s3://{bucket}/{key}"))?
                            .into_bytes()
                            .to_vec();
                        Ok(Some(Object {
                            bytes,
                            content_type,
                        }))
                    }
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
                    Err(e) => Err(anyhow::Error::new(e))
                        .with_context(|| format!("reading s3://{bucket}/{key}")),
                }
            }
        }
    }

    /// Stores `bytes` under `key` (local: through a temporary file and a rename, so a reader
    /// never sees half an object).
    pub async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: Option<&str>,
    ) -> anyhow::Result<()> {
        let name = check_key(key)?;
        match self {
            Storage::Local(root) => {
                let dir = root.join(KEY_PREFIX);
                tokio::fs::create_dir_all(&dir)
                    .await
                    .with_context(|| format!("creating {}", dir.display()))?;
                let part = dir.join(format!(".{name}.restoring"));
                tokio::fs::write(&part, bytes)
                    .await
                    .with_context(|| format!("writing {}", part.display()))?;
                tokio::fs::rename(&part, root.join(key))
                    .await
                    .with_context(|| format!("moving {} into place", part.display()))?;
                Ok(())
            }
            Storage::S3 { client, bucket } => {
                client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .set_content_type(content_type.map(str::to_owned))
                    .server_side_encryption(ServerSideEncryption::Aes256)
                    .body(ByteStream::from(bytes))
                    .send()
                    .await
                    .with_context(|| format!("writing s3://{bucket}/{key}"))?;
                Ok(())
            }
        }
    }
}

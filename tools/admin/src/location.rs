//! Where a backup lives: a folder, or an S3 prefix (`s3://bucket/prefix`) written with
//! server-side encryption. Files are named by paths relative to the backup's root
//! (`manifest.json`, `sqlite/auth.db`, `objects/attachments/<uuid>.pdf`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use aws_sdk_s3::{
    Client,
    config::{Region, RequestChecksumCalculation, ResponseChecksumValidation},
    primitives::ByteStream,
    types::ServerSideEncryption,
};

/// Server-side encryption of what the tool writes to S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sse {
    Aes256,
    /// `aws:kms`, with the key's id or ARN (none: the bucket's or the account's default key).
    Kms(Option<String>),
}

impl Sse {
    pub fn parse(value: &str, kms_key: Option<String>) -> anyhow::Result<Self> {
        match value {
            "AES256" | "aes256" => Ok(Sse::Aes256),
            "aws:kms" | "kms" => Ok(Sse::Kms(kms_key)),
            other => bail!("BACKUP_SSE / --sse: AES256 or aws:kms, not {other:?}"),
        }
    }

    fn apply(
        &self,
        put: aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        match self {
            Sse::Aes256 => put.server_side_encryption(ServerSideEncryption::Aes256),
            Sse::Kms(key) => put
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .set_ssekms_key_id(key.clone()),
        }
    }
}

/// An S3 client from the environment the services read (`AWS_REGION`, `AWS_ENDPOINT_URL`,
/// the usual credential chain); path-style addressing for an endpoint of its own (LocalStack,
/// moto).
pub async fn s3_client() -> Client {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new(region))
        .load()
        .await;
    let mut config = aws_sdk_s3::config::Builder::from(&shared)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    if let Ok(url) = std::env::var("AWS_ENDPOINT_URL")
        && !url.is_empty()
    {
        config = config.endpoint_url(url).force_path_style(true);
    }
    Client::from_conf(config.build())
}

/// `s3://bucket/prefix` → (bucket, prefix without slashes at either end).
pub fn parse_s3_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    Some((bucket.to_owned(), prefix.trim_matches('/').to_owned()))
}

pub enum Location {
    Dir(PathBuf),
    S3(S3Prefix),
}

/// A backup under an S3 prefix.
pub struct S3Prefix {
    client: Client,
    bucket: String,
    prefix: String,
    sse: Sse,
    /// Files are made here before they go up.
    staging: tempfile::TempDir,
}

impl S3Prefix {
    /// The object key of the file `name`.
    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    /// For messages: `s3://bucket/key`.
    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// Uploads `body` as the file `name`, encrypted as [`Sse`] says.
    async fn put(&self, name: &str, body: ByteStream) -> anyhow::Result<()> {
        let key = self.key(name);
        self.sse
            .apply(
                self.client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .body(body),
            )
            .send()
            .await
            .with_context(|| format!("uploading {}", self.url(&key)))?;
        Ok(())
    }

    /// The file `name`'s body, not yet read.
    async fn get(&self, name: &str) -> anyhow::Result<(String, ByteStream)> {
        let key = self.key(name);
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .with_context(|| format!("reading {}", self.url(&key)))?;
        Ok((self.url(&key), out.body))
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Location {
    /// A folder path or `s3://bucket/prefix`.
    pub async fn open(spec: &str, sse: Sse) -> anyhow::Result<Self> {
        if spec.starts_with("s3://") {
            let (bucket, prefix) =
                parse_s3_url(spec).with_context(|| format!("{spec}: not s3://bucket/prefix"))?;
            Ok(Location::S3(S3Prefix {
                client: s3_client().await,
                bucket,
                prefix,
                sse,
                staging: tempfile::tempdir().context("a staging folder for the backup")?,
            }))
        } else {
            Ok(Location::Dir(PathBuf::from(spec)))
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Location::Dir(dir) => dir.display().to_string(),
            Location::S3(s3) => format!("s3://{}/{}", s3.bucket, s3.prefix),
        }
    }

    /// Where to make the file `name` before [`Location::commit`]: its final place in a folder,
    /// a staging file for S3.
    pub fn stage(&self, name: &str) -> anyhow::Result<PathBuf> {
        let path = match self {
            Location::Dir(dir) => dir.join(name),
            Location::S3(s3) => s3.staging.path().join(name),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        Ok(path)
    }

    /// Makes the staged file `name` part of the backup (S3: uploads and removes it).
    pub async fn commit(&self, name: &str, staged: &Path) -> anyhow::Result<()> {
        if let Location::S3(s3) = self {
            let body = ByteStream::from_path(staged)
                .await
                .with_context(|| format!("reading {}", staged.display()))?;
            s3.put(name, body).await?;
            let _ = std::fs::remove_file(staged);
        }
        Ok(())
    }

    pub async fn put_bytes(&self, name: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        match self {
            Location::Dir(_) => {
                let path = self.stage(name)?;
                tokio::fs::write(&path, bytes)
                    .await
                    .with_context(|| format!("writing {}", path.display()))
            }
            Location::S3(s3) => s3.put(name, ByteStream::from(bytes)).await,
        }
    }

    pub async fn exists(&self, name: &str) -> anyhow::Result<bool> {
        match self {
            Location::Dir(dir) => Ok(dir.join(name).exists()),
            Location::S3(s3) => {
                let key = s3.key(name);
                match s3
                    .client
                    .head_object()
                    .bucket(&s3.bucket)
                    .key(&key)
                    .send()
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
                    Err(e) => Err(anyhow::Error::new(e))
                        .with_context(|| format!("looking for {}", s3.url(&key))),
                }
            }
        }
    }

    pub async fn get_bytes(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        match self {
            Location::Dir(dir) => {
                let path = dir.join(name);
                tokio::fs::read(&path)
                    .await
                    .with_context(|| format!("reading {}", path.display()))
            }
            Location::S3(s3) => {
                let (url, body) = s3.get(name).await?;
                Ok(body
                    .collect()
                    .await
                    .with_context(|| format!("reading {url}"))?
                    .into_bytes()
                    .to_vec())
            }
        }
    }

    /// A local path holding the file `name`: the file itself in a folder, a download for S3.
    pub async fn fetch(&self, name: &str) -> anyhow::Result<PathBuf> {
        match self {
            Location::Dir(dir) => Ok(dir.join(name)),
            Location::S3(s3) => {
                // Streamed to the staging folder: a table's COPY text can be large.
                let path = self.stage(name)?;
                let (url, body) = s3.get(name).await?;
                let mut body = body.into_async_read();
                let mut file = tokio::fs::File::create(&path)
                    .await
                    .with_context(|| format!("writing {}", path.display()))?;
                tokio::io::copy(&mut body, &mut file)
                    .await
                    .with_context(|| format!("reading {url}"))?;
                Ok(path)
            }
        }
    }
}

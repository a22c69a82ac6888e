//! Objects in an S3 bucket (or LocalStack / moto with `AWS_ENDPOINT_URL`, path-style).
//!
//! Every object is written with SSE AES256. A file up to one part goes up in one `PutObject`;
//! past that, a multipart upload in 5 MiB parts read from the spool file, aborted on any
//! error so no parts linger. Downloads are presigned GETs whose response carries the safe
//! `Content-Disposition` and the stored content type.

use std::{path::Path, time::Duration};

use aws_sdk_s3::{
    Client,
    config::{
        Region, RequestChecksumCalculation, ResponseChecksumValidation, timeout::TimeoutConfig,
    },
    presigning::PresigningConfig,
    primitives::{ByteStream, Length},
    types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption},
};
use docket_platform::health::CheckOutcome;
use futures_util::future::BoxFuture;

use super::{Download, KEY_PREFIX, Storage, StorageError, StoredObject, check_key};
use crate::domain::SafeFilename;

/// S3's smallest part (all but the last); also the size up to which one PutObject is used.
pub const PART_SIZE: u64 = 5 * 1024 * 1024;

pub struct S3Storage {
    client: Client,
    /// Signs download URLs: `client` itself, or its copy for the public endpoint.
    presigner: Client,
    bucket: String,
    presign_expiry: Duration,
}

impl S3Storage {
    pub async fn new(
        bucket: &str,
        region: &str,
        endpoint_url: Option<&str>,
        presign_expiry: Duration,
    ) -> Self {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .load()
            .await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            // Checksums only where S3 requires them: emulators and presigned URLs differ in
            // what they accept, and TLS already protects the bytes in transit.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(url) = endpoint_url {
            config = config.endpoint_url(url).force_path_style(true);
        }
        let client = Client::from_conf(config.build());
        Self {
            presigner: client.clone(),
            client,
            bucket: bucket.to_owned(),
            presign_expiry,
        }
    }

    /// Download URLs name `url` instead of the endpoint the service uses (the host a browser
    /// reaches, when that is another address for the same S3). A presigned URL's signature
    /// covers its host, so it is signed for that endpoint, not rewritten afterwards.
    pub fn with_presign_endpoint(mut self, url: &str) -> Self {
        let config = self
            .client
            .config()
            .to_builder()
            .endpoint_url(url)
            .force_path_style(true)
            .build();
        self.presigner = Client::from_conf(config);
        self
    }

    /// The SDK client (the sweep and tests use it).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn put_single(
        &self,
        key: &str,
        spool: &Path,
        size: u64,
        content_type: &str,
    ) -> anyhow::Result<()> {
        let body = ByteStream::read_from()
            .path(spool)
            .length(Length::Exact(size))
            .build()
            .await?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size as i64)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(body)
            .send()
            .await?;
        Ok(())
    }

    async fn put_multipart(
        &self,
        key: &str,
        spool: &Path,
        size: u64,
        content_type: &str,
    ) -> anyhow::Result<()> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| anyhow::anyhow!("no upload id"))?
            .to_owned();
        let result = self.upload_parts(key, &upload_id, spool, size).await;
        if result.is_err()
            && let Err(e) = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await
        {
            // The bucket's lifecycle rule for incomplete uploads is the backstop.
            tracing::warn!(error = %e, key, "aborting a multipart upload failed");
        }
        result
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        spool: &Path,
        size: u64,
    ) -> anyhow::Result<()> {
        let mut parts = Vec::new();
        let mut offset = 0;
        let mut number = 1;
        while offset < size {
            let len = PART_SIZE.min(size - offset);
            let body = ByteStream::read_from()
                .path(spool)
                .offset(offset)
                .length(Length::Exact(len))
                .build()
                .await?;
            let part = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(len as i64)
                .body(body)
                .send()
                .await?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(part.e_tag().map(str::to_owned))
                    .build(),
            );
            offset += len;
            number += 1;
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await?;
        Ok(())
    }
}

impl Storage for S3Storage {
    fn kind(&self) -> &'static str {
        "s3"
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        spool: &'a Path,
        size: u64,
        content_type: &'a str,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            if size <= PART_SIZE {
                self.put_single(key, spool, size, content_type).await
            } else {
                self.put_multipart(key, spool, size, content_type).await
            }
            .map_err(StorageError::Unavailable)
        })
    }

    fn download<'a>(
        &'a self,
        key: &'a str,
        filename: &'a SafeFilename,
        content_type: &'a str,
    ) -> BoxFuture<'a, Result<Download, StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            let presigning = PresigningConfig::expires_in(self.presign_expiry)
                .map_err(StorageError::unavailable)?;
            let request = self
                .presigner
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .response_content_disposition(filename.content_disposition())
                .response_content_type(content_type)
                .presigned(presigning)
                .await
                .map_err(StorageError::unavailable)?;
            Ok(Download::Redirect(request.uri().to_owned()))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(StorageError::unavailable)?;
            Ok(())
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredObject>, StorageError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(KEY_PREFIX)
                    .set_continuation_token(token.take())
                    .send()
                    .await
                    .map_err(StorageError::unavailable)?;
                for object in page.contents() {
                    if let Some(key) = object.key() {
                        out.push(StoredObject {
                            key: key.to_owned(),
                            modified_ms: object
                                .last_modified()
                                .and_then(|t| t.to_millis().ok())
                                .unwrap_or(0),
                        });
                    }
                }
                match page.next_continuation_token() {
                    Some(next) if page.is_truncated() == Some(true) => {
                        token = Some(next.to_owned())
                    }
                    _ => break,
                }
            }
            Ok(out)
        })
    }

    fn check(&self) -> BoxFuture<'_, CheckOutcome> {
        Box::pin(async move {
            match self.client.head_bucket().bucket(&self.bucket).send().await {
                Ok(_) => CheckOutcome::pass(format!("bucket {} reachable", self.bucket)),
                Err(e) => {
                    tracing::warn!(error = %aws_sdk_s3::error::DisplayErrorContext(&e), "S3 health check failed");
                    CheckOutcome::fail(format!("bucket {} unreachable", self.bucket))
                }
            }
        })
    }
}

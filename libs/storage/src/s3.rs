//! A blob store on any S3-compatible service (AWS S3, MinIO, Garage, …).

use std::fmt;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::create_bucket::CreateBucketError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use futures::{StreamExt, stream};

use mashang_domain::TenantId;

use crate::{Blob, BlobKey, BlobStore, Listed, Listing, Spooled, StorageError};

/// The content type served when an object was stored without one.
const UNKNOWN_CONTENT_TYPE: &str = "application/octet-stream";
/// Longest wait for a connection to the store.
const S3_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
/// Longest silence while reading an answer.
const S3_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// Longest single attempt of an operation (a 10 MB photo on a slow link included).
const S3_OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// The region in which `CreateBucket` must not name a location constraint.
const DEFAULT_REGION: &str = "us-east-1";

/// How to reach the bucket. Without both keys, credentials come from the default
/// chain: environment, web identity (Kubernetes service accounts), instance metadata…
#[derive(Clone, Default)]
pub struct S3Config {
    /// The service's URL, for anything but AWS itself (e.g. `http://minio:9000`).
    pub endpoint: Option<String>,
    /// The region to sign requests for (`us-east-1` for most non-AWS services).
    pub region: String,
    /// The bucket holding every tenant's objects.
    pub bucket: String,
    /// Address the bucket in the path (`endpoint/bucket/key`) rather than the host name.
    pub path_style: bool,
    /// A static access key id; used only together with the secret.
    pub access_key_id: Option<String>,
    /// A static secret access key; never printed.
    pub secret_access_key: Option<String>,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("path_style", &self.path_style)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// A blob store in one S3 bucket.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    region: String,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// Builds a client for `config`. Nothing is sent yet; use [`BlobStore::check`] to
    /// see that the bucket is reachable.
    pub async fn connect(config: S3Config) -> Result<Self, StorageError> {
        if config.bucket.is_empty() {
            return Err(StorageError::Config("the S3 bucket name is empty"));
        }
        if config.region.is_empty() {
            return Err(StorageError::Config("the S3 region is empty"));
        }
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        // A store that stops answering fails the operation (a 503 to the citizen, a
        // retry for the housekeeper) instead of holding a request or a worker.
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(S3_CONNECT_TIMEOUT)
            .read_timeout(S3_READ_TIMEOUT)
            .operation_attempt_timeout(S3_OPERATION_TIMEOUT)
            .operation_timeout(S3_OPERATION_TIMEOUT * 2)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .timeout_config(timeouts)
            .http_client(http);
        match (config.access_key_id, config.secret_access_key) {
            (Some(id), Some(secret)) => {
                loader = loader.credentials_provider(Credentials::new(
                    id,
                    secret,
                    None,
                    None,
                    "mashang-config",
                ));
            }
            (None, None) => {}
            _ => {
                return Err(StorageError::Config(
                    "give both the S3 access key id and secret access key, or neither",
                ));
            }
        }
        let shared = loader.load().await;
        let mut s3 = aws_sdk_s3::config::Builder::from(&shared).force_path_style(config.path_style);
        if let Some(endpoint) = config.endpoint {
            // Checksums are sent and checked only where S3 requires them: several
            // S3-compatible services reject or mangle the SDK's default trailing
            // checksums on streamed uploads. AWS itself keeps the defaults.
            s3 = s3
                .endpoint_url(endpoint)
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        }
        Ok(Self {
            client: Client::from_conf(s3.build()),
            bucket: config.bucket,
            region: config.region,
        })
    }

    /// The bucket this store writes to.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Creates the bucket if it does not exist yet (for development and tests; in
    /// production the operator provides it).
    #[tracing::instrument(skip_all, fields(bucket = %self.bucket))]
    pub async fn ensure_bucket(&self) -> Result<(), StorageError> {
        if self.check().await.is_ok() {
            return Ok(());
        }
        let mut create = self.client.create_bucket().bucket(&self.bucket);
        if self.region != DEFAULT_REGION {
            let location = BucketLocationConstraint::from(self.region.as_str());
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(location)
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(CreateBucketError::is_bucket_already_owned_by_you) =>
            {
                Ok(())
            }
            Err(e) => Err(StorageError::backend("create the bucket", e)),
        }
    }
}

#[async_trait]
impl BlobStore for S3Store {
    #[tracing::instrument(skip_all, fields(key = %key))]
    async fn put_file(&self, key: &BlobKey, spooled: &Spooled) -> Result<(), StorageError> {
        // Streams from disk; the length comes from the file, so memory stays flat.
        let body = ByteStream::from_path(spooled.path())
            .await
            .map_err(|e| StorageError::backend("open the spooled upload", e))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(spooled.content_type())
            .set_content_length(i64::try_from(spooled.size()).ok())
            .body(body)
            .send()
            .await
            .map_err(|e| StorageError::backend("store the object", e))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(key = %key))]
    async fn get(&self, key: &BlobKey) -> Result<Blob, StorageError> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str());
        let out = match request.send().await {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(GetObjectError::is_no_such_key)
                    || is_missing_object(&e) =>
            {
                return Err(StorageError::NotFound);
            }
            Err(e) => return Err(StorageError::backend("get the object", e)),
        };
        let size = out
            .content_length()
            .and_then(|len| u64::try_from(len).ok())
            .unwrap_or_default();
        let content_type = out
            .content_type()
            .unwrap_or(UNKNOWN_CONTENT_TYPE)
            .to_owned();
        // The stream ends after the first error rather than polling a failed body again.
        let body = stream::unfold(Some(out.body), |body| async move {
            let mut body = body?;
            match body.try_next().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(body))),
                Ok(None) => None,
                Err(e) => Some((Err(StorageError::backend("read the object", e)), None)),
            }
        })
        .boxed();
        Ok(Blob {
            content_type,
            size,
            body,
        })
    }

    #[tracing::instrument(skip_all, fields(key = %key))]
    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        let request = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str());
        match request.send().await {
            // S3 answers 204 for a missing key; some compatible services answer 404.
            Ok(_) => Ok(()),
            Err(e) if is_missing_object(&e) => Ok(()),
            Err(e) => Err(StorageError::backend("delete the object", e)),
        }
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %tenant, area))]
    async fn list(
        &self,
        tenant: TenantId,
        area: &str,
        after: Option<&BlobKey>,
        max: usize,
    ) -> Result<Listing, StorageError> {
        let prefix = BlobKey::prefix(tenant, area)
            .map_err(|_| StorageError::Config("a listed area must be a valid key segment"))?;
        let mut listing = Listing::default();
        let mut start_after = after.map(|k| k.as_str().to_owned());
        let mut token: Option<String> = None;
        // ListObjectsV2 answers at most 1000 keys a call: page on until `max` or the end.
        loop {
            let wanted = max.saturating_sub(listing.objects.len()).min(1000);
            if wanted == 0 {
                break;
            }
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_start_after(start_after.take())
                .set_continuation_token(token.take())
                .max_keys(i32::try_from(wanted).unwrap_or(1000))
                .send()
                .await
                .map_err(|e| StorageError::backend("list the objects", e))?;
            for object in page.contents() {
                let Some(Ok(key)) = object.key().map(BlobKey::parse) else {
                    continue;
                };
                let modified = object
                    .last_modified()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok());
                listing.objects.push(Listed {
                    key,
                    size: object
                        .size()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0),
                    modified,
                });
            }
            token = page.next_continuation_token().map(str::to_owned);
            if page.is_truncated() != Some(true) || token.is_none() {
                return Ok(listing);
            }
        }
        listing.next = listing.objects.last().map(|o| o.key.clone());
        Ok(listing)
    }

    #[tracing::instrument(skip_all, fields(key = %key))]
    async fn exists(&self, key: &BlobKey) -> Result<bool, StorageError> {
        let request = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str());
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(HeadObjectError::is_not_found) =>
            {
                Ok(false)
            }
            Err(e) if is_missing_object(&e) => Ok(false),
            Err(e) => Err(StorageError::backend("look up the object", e)),
        }
    }

    #[tracing::instrument(skip_all, fields(bucket = %self.bucket))]
    async fn check(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| StorageError::backend("reach the bucket", e))?;
        Ok(())
    }
}

/// Whether the service answered that the object is missing: a 404 that is not about
/// the bucket. HEAD answers carry no error code, so for them any 404 counts.
fn is_missing_object<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    let status_404 = err
        .raw_response()
        .is_some_and(|response| response.status().as_u16() == 404);
    status_404 && err.code() != Some("NoSuchBucket")
}

#[cfg(test)]
mod tests;

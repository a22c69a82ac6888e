#!/usr/bin/env bash
# LocalStack runs this once it is ready (a "ready" init hook). It makes what the real
# account gets from ecs/data.yaml, in miniature:
#   - the attachments bucket: private, SSE (AES256), versioned, with a CORS rule that lets
#     the web app (WEB_ORIGIN) read presigned downloads, which it fetches;
#   - the attachments service's secret, read at start through SECRETS_ID, so the production
#     secret-loading path is exercised locally too.
# Idempotent: a restart with a kept volume changes nothing.
set -euo pipefail
bucket="${S3_ATTACHMENTS_BUCKET:-docket-attachments}"
secret_id="${ATTACHMENTS_SECRET_ID:-docket/local/attachments}"
web_origin="${WEB_ORIGIN:-http://localhost:8080}"
db_url="${ATTACHMENTS_DATABASE_URL:-postgres://docket_attachments:docket@postgres:5432/docket_attachments}"

if ! awslocal s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
  awslocal s3api create-bucket --bucket "$bucket" >/dev/null
fi
awslocal s3api put-public-access-block --bucket "$bucket" --public-access-block-configuration \
  BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
awslocal s3api put-bucket-encryption --bucket "$bucket" --server-side-encryption-configuration \
  '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
awslocal s3api put-bucket-versioning --bucket "$bucket" --versioning-configuration Status=Enabled
awslocal s3api put-bucket-cors --bucket "$bucket" --cors-configuration "$(printf \
  '{"CORSRules":[{"AllowedOrigins":["%s"],"AllowedMethods":["GET","HEAD"],"AllowedHeaders":["*"],"MaxAgeSeconds":3600}]}' \
  "$web_origin")"
echo "localstack-init: bucket ${bucket} ready"

secret_json=$(printf '{"DATABASE_URL":"%s"}' "$db_url")
if awslocal secretsmanager describe-secret --secret-id "$secret_id" >/dev/null 2>&1; then
  awslocal secretsmanager put-secret-value --secret-id "$secret_id" --secret-string "$secret_json" >/dev/null
else
  awslocal secretsmanager create-secret --name "$secret_id" --secret-string "$secret_json" >/dev/null
fi
echo "localstack-init: secret ${secret_id} ready"

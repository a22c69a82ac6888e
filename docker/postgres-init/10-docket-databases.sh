#!/usr/bin/env bash
# Runs once, when the Postgres container starts on an empty data volume (the official image
# runs /docker-entrypoint-initdb.d/* then). Makes one role and one database per service, each
# database owned by its own role, so no service can read another's tables:
#   docket_auth, docket_tickets, docket_attachments.
# The roles' password is DOCKET_DB_PASSWORD (a local-only default; see compose.yaml).
# Idempotent, so it can also be run by hand against an existing server.
set -euo pipefail
password="${DOCKET_DB_PASSWORD:-docket}"

for svc in auth tickets attachments; do
  name="docket_${svc}"
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
       -v name="$name" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'name', :'password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name') \gexec
SQL
  echo "postgres-init: database ${name} ready"
done

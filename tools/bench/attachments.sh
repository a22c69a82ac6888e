#!/usr/bin/env bash
# Benchmarks attachment uploads on loopback: auth, tickets, attachments and (when present) the
# gateway run as separate release processes on SQLite, with local storage and then S3 (moto).
# Prints the time for one 10 MiB upload (through the gateway and straight to the service),
# the throughput of 20 concurrent 10 MiB uploads, and each process's peak RSS (VmHWM) before
# and after the uploads. A benchmark, not a test: nothing here asserts.
#
#   scripts/bench-attachments              # release build (first build takes several minutes)
#   DOCKET_PROFILE=dev scripts/bench-attachments
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

profile=${DOCKET_PROFILE:-release}
target_dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
CONCURRENCY=${CONCURRENCY:-20}
services=(auth tickets attachments)
[ -f services/gateway/Cargo.toml ] && services+=(gateway)
echo "==> building ${services[*]} ($profile profile)"
cargo build -q --profile "$profile" $(printf -- '-p docket-%s ' "${services[@]}")

work=$(mktemp -d)
pids=()
moto_pid=""
cleanup() {
  for p in "${pids[@]}" $moto_pid; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

python3 - "$work/ten.pdf" <<'PY'
import os, sys
size = 10 * 1024 * 1024
with open(sys.argv[1], "wb") as f:
    f.write(b"%PDF-1.7\n")
    f.write(os.urandom(size - 9))
PY

hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Starts one process of service $1 on port $2 with extra env; sets the variable pid_$1.
start() {
  local name=$1 port=$2; shift 2
  env PORT="$port" HOST=127.0.0.1 LOG_LEVEL=warn "$@" "target/$target_dir/docket-$name" \
    >"$work/$name.log" 2>&1 &
  pids+=($!)
  printf -v "pid_$name" '%s' "$!"
  wait_http "$port" /health/live 60
}

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# One round: a fresh stack with attachments on storage $1 (local | s3).
round() {
  local storage=$1 dir="$work/$1"
  mkdir -p "$dir"
  pids=()
  local p_auth p_tickets p_att p_gw
  read -r p_auth p_tickets p_att p_gw < <(free_port 4)
  local urls=(AUTH_URL="http://127.0.0.1:$p_auth" TICKETS_URL="http://127.0.0.1:$p_tickets"
    ATTACHMENTS_URL="http://127.0.0.1:$p_att")
  start auth "$p_auth" DATABASE_URL="sqlite://$dir/auth.db" DATA_DIR="$dir" COOKIE_SECURE=false
  start tickets "$p_tickets" DATABASE_URL="sqlite://$dir/tickets.db" "${urls[@]}"
  local storage_env=(STORAGE_TYPE=local)
  if [ "$storage" = s3 ]; then
    storage_env=(STORAGE_TYPE=s3 S3_ATTACHMENTS_BUCKET=bench AWS_ENDPOINT_URL="$TEST_AWS_ENDPOINT_URL"
      AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true)
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test curl -fsS -X PUT "$TEST_AWS_ENDPOINT_URL/bench" >/dev/null
  fi
  start attachments "$p_att" DATABASE_URL="sqlite://$dir/attachments.db" UPLOAD_DIR="$dir/uploads" \
    "${urls[@]}" "${storage_env[@]}"
  local base="http://127.0.0.1:$p_att" via="direct"
  if [[ " ${services[*]} " == *" gateway "* ]]; then
    start gateway "$p_gw" "${urls[@]}" WEB_DIR="$dir/no-web" RATE_LIMIT_UPLOADS=1000/3600 RATE_LIMIT_API=10000/900
    base="http://127.0.0.1:$p_gw"; via="gateway"
  fi

  local token ticket
  token=$(curl -fsS "$base/api/auth/register" -H 'content-type: application/json' \
    -d "{\"email\":\"bench-$storage@example.com\",\"password\":\"password123\",\"name\":\"Bench\"}" |
    json_field '["access_token"]')
  ticket=$(curl -fsS "$base/api/tickets" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"subject":"Benchmark","description":"Uploads"}' | json_field '["id"]')
  upload() { # $1 base; prints "status seconds"
    curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -H "authorization: Bearer $token" \
      -F "file=@$work/ten.pdf;type=application/pdf" "$1/api/tickets/$ticket/attachments"
  }
  upload "$base" >/dev/null # warm-up: connections, key set, SQLite pages

  local att_before gw_before=""
  att_before=$(hwm_kib "$pid_attachments")
  [ -n "${pid_gateway:-}" ] && gw_before=$(hwm_kib "$pid_gateway")

  echo "--- storage: $storage"
  local i out
  for i in 1 2 3; do
    out=$(upload "$base"); echo "one 10 MiB upload via $via: ${out#* }s (HTTP ${out%% *})"
  done
  if [ "$via" = gateway ]; then
    out=$(upload "http://127.0.0.1:$p_att"); echo "one 10 MiB upload direct to attachments: ${out#* }s (HTTP ${out%% *})"
  fi

  local start_ns end_ns statuses
  start_ns=$(date +%s%N)
  local cpids=()
  for ((i = 0; i < CONCURRENCY; i++)); do
    upload "$base" >"$work/c$i" &
    cpids+=($!)
  done
  wait "${cpids[@]}"
  end_ns=$(date +%s%N)
  statuses=$(cat "$work"/c* | awk '{print $1}' | sort | uniq -c | tr -s ' ' | tr '\n' ';')
  awk -v n="$CONCURRENCY" -v ns=$((end_ns - start_ns)) -v s="$statuses" 'BEGIN {
    secs = ns / 1e9; printf "%d concurrent 10 MiB uploads via '"$via"': %.2f s wall, %.1f MiB/s, %.1f uploads/s (statuses:%s)\n", n, secs, n * 10 / secs, n / secs, s }'
  rm -f "$work"/c*

  local att_after
  att_after=$(hwm_kib "$pid_attachments")
  echo "attachments peak RSS (VmHWM): $(mib "$att_before") MiB before the uploads, $(mib "$att_after") MiB after (+$(mib $((att_after - att_before))) MiB); VmRSS now $(mib "$(rss_kib "$pid_attachments")") MiB"
  if [ -n "$gw_before" ]; then
    local gw_after
    gw_after=$(hwm_kib "$pid_gateway")
    echo "gateway peak RSS (VmHWM): $(mib "$gw_before") MiB before the uploads, $(mib "$gw_after") MiB after (+$(mib $((gw_after - gw_before))) MiB)"
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
  unset pid_gateway
}

round local
if [ -z "${TEST_AWS_ENDPOINT_URL:-}" ]; then
  start_moto
  moto_pid=$MOTO_PID
fi
round s3

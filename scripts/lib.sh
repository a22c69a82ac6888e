# Shared by scripts/run and scripts/test: sourced, not run.

# A Python virtualenv at .venv with moto's server (the S3 and Secrets Manager API used by tests).
ensure_moto() {
  if [ ! -x .venv/bin/moto_server ]; then
    echo "==> installing moto's server into .venv (first run only)"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check 'moto[server]==5.2.5'
  fi
}

# N free TCP ports on 127.0.0.1 (default 1), all different: the sockets stay bound until every
# port is chosen, so two services can never be handed the same one.
free_port() {
  python3 - "${1:-1}" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

# Waits until http://127.0.0.1:$1$2 answers 200, for at most $3 seconds.
wait_http() {
  local port=$1 path=$2 secs=${3:-30} i
  for ((i = 0; i < secs * 10; i++)); do
    if python3 - "$port" "$path" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=1)
PY
    sleep 0.1
  done
  echo "timed out waiting for 127.0.0.1:$port$path" >&2
  return 1
}

# Starts moto on a free port; sets MOTO_PID and TEST_AWS_ENDPOINT_URL.
start_moto() {
  ensure_moto
  local port
  port=$(free_port)
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"${MOTO_LOG:-/dev/null}" 2>&1 &
  MOTO_PID=$!
  wait_http "$port" /moto-api/ 60
  export TEST_AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  echo "==> moto's server on $TEST_AWS_ENDPOINT_URL"
}

# Debian's Chromium for the browser tests (browser downloads do not work everywhere).
ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "==> installing Debian's chromium for the browser tests"
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
  fi
}

# Schemathesis (property-based tests from the OpenAPI documents) in the same .venv, at the
# pinned version (its checks change between releases).
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
  if ! .venv/bin/schemathesis --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
    echo "==> installing schemathesis into .venv (first run only)"
    [ -x .venv/bin/pip ] || python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
}

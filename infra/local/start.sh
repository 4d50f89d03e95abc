#!/usr/bin/env bash
# Starts the local Azure stand-ins for iCrm, bound to 127.0.0.1 only:
#   Azurite (blob, queue, table) and the Cosmos DB wrapper (cosmos-server.mjs).
# Idempotent: a stand-in that is already running (per its pid file) is left alone.
# Ports: AZURITE_BLOB_PORT (10000), AZURITE_QUEUE_PORT (10001), AZURITE_TABLE_PORT (10002), COSMOS_PORT (8081).
# Data, logs and pid files live under infra/local/.data/ (git-ignored). START_TIMEOUT (seconds, default 30).
# The Cosmos server holds its data in memory, so starting both from nothing also empties Azurite's data: a stack always
# starts consistent (empty), never with blobs that refer to customers it no longer has.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="$HERE/.data"
LOGS="$DATA/logs"
BLOB_PORT="${AZURITE_BLOB_PORT:-10000}"
QUEUE_PORT="${AZURITE_QUEUE_PORT:-10001}"
TABLE_PORT="${AZURITE_TABLE_PORT:-10002}"
COSMOS_PORT="${COSMOS_PORT:-8081}"
TIMEOUT="${START_TIMEOUT:-30}"

mkdir -p "$DATA/azurite" "$LOGS"

if [ ! -x "$HERE/node_modules/.bin/azurite" ] || [ ! -d "$HERE/node_modules/@vercel/cosmosdb-server" ]; then
  echo "infra/local: installing npm packages (npm ci)..."
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >"$LOGS/npm-ci.log" 2>&1 || {
    echo "infra/local: npm ci failed; see $LOGS/npm-ci.log" >&2
    tail -n 20 "$LOGS/npm-ci.log" >&2
    exit 1
  }
fi

# True when the pid file names a live process whose command line contains the marker.
running() {
  local pidfile="$1" marker="$2" pid
  [ -f "$pidfile" ] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

# True when something accepts TCP connections on 127.0.0.1:port.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

fail() {
  local name="$1" log="$2" why="${3:-did not become ready within ${TIMEOUT}s}"
  echo "infra/local: $name $why. Last lines of $log:" >&2
  tail -n 30 "$log" >&2 || true
  exit 1
}

start_azurite() {
  local pidfile="$DATA/azurite.pid" log="$LOGS/azurite.log"
  if running "$pidfile" "$HERE/node_modules/.bin/azurite"; then
    if [ "$(cat "$DATA/azurite.ports" 2>/dev/null)" != "$BLOB_PORT $QUEUE_PORT $TABLE_PORT" ]; then
      echo "infra/local: Azurite already runs on ports $(cat "$DATA/azurite.ports" 2>/dev/null), not $BLOB_PORT $QUEUE_PORT $TABLE_PORT; run stop.sh first" >&2
      exit 1
    fi
    echo "infra/local: Azurite already running (pid $(cat "$pidfile"))"
    return 0
  fi
  for p in "$BLOB_PORT" "$QUEUE_PORT" "$TABLE_PORT"; do
    if port_open "$p"; then
      echo "infra/local: port $p is already in use by another process; set AZURITE_*_PORT to free ports" >&2
      exit 1
    fi
  done
  if ! running "$DATA/cosmos.pid" "$HERE/cosmos-server.mjs"; then
    # The Cosmos server keeps its data in memory, so a fresh stack starts with empty storage too: otherwise old drops,
    # models and queue messages would meet an empty customer store (and the drop watcher would ingest old drops again).
    rm -rf "$DATA/azurite"
    mkdir -p "$DATA/azurite"
  fi
  setsid nohup node "$HERE/node_modules/.bin/azurite" --silent --disableTelemetry --skipApiVersionCheck \
    --location "$DATA/azurite" \
    --blobHost 127.0.0.1 --blobPort "$BLOB_PORT" \
    --queueHost 127.0.0.1 --queuePort "$QUEUE_PORT" \
    --tableHost 127.0.0.1 --tablePort "$TABLE_PORT" \
    >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  echo "$BLOB_PORT $QUEUE_PORT $TABLE_PORT" >"$DATA/azurite.ports"
  AZURITE_STARTED=1
}

start_cosmos() {
  local pidfile="$DATA/cosmos.pid" log="$LOGS/cosmos.log"
  if running "$pidfile" "$HERE/cosmos-server.mjs"; then
    if [ "$(cat "$DATA/cosmos.port" 2>/dev/null)" != "$COSMOS_PORT" ]; then
      echo "infra/local: the Cosmos wrapper already runs on port $(cat "$DATA/cosmos.port" 2>/dev/null), not $COSMOS_PORT; run stop.sh first" >&2
      exit 1
    fi
    echo "infra/local: Cosmos wrapper already running (pid $(cat "$pidfile"))"
    return 0
  fi
  if port_open "$COSMOS_PORT"; then
    echo "infra/local: port $COSMOS_PORT is already in use by another process; set COSMOS_PORT to a free port" >&2
    exit 1
  fi
  setsid nohup node "$HERE/cosmos-server.mjs" --host 127.0.0.1 --port "$COSMOS_PORT" >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  echo "$COSMOS_PORT" >"$DATA/cosmos.port"
  COSMOS_STARTED=1
}

AZURITE_STARTED=0
COSMOS_STARTED=0
started_at=$(date +%s%N)
start_azurite
start_cosmos

# Wait until every service answers (or its process died).
deadline=$(( $(date +%s) + TIMEOUT ))
wait_for() {
  local name="$1" pidfile="$2" marker="$3" log="$4"; shift 4
  while true; do
    local ok=1
    for p in "$@"; do port_open "$p" || ok=0; done
    if [ "$ok" = 1 ]; then return 0; fi
    # /proc/PID/cmdline is briefly empty while setsid/nohup exec the server: only a process that is gone has exited.
    if ! running "$pidfile" "$marker" && ! { sleep 0.5; [ -d "/proc/$(cat "$pidfile" 2>/dev/null || echo 0)" ]; }; then
      rm -f "$pidfile"
      fail "$name" "$log" "exited during start-up"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then fail "$name" "$log"; fi
    sleep 0.1
  done
}
wait_for "Azurite" "$DATA/azurite.pid" "$HERE/node_modules/.bin/azurite" "$LOGS/azurite.log" "$BLOB_PORT" "$QUEUE_PORT" "$TABLE_PORT"
wait_for "Cosmos wrapper" "$DATA/cosmos.pid" "$HERE/cosmos-server.mjs" "$LOGS/cosmos.log" "$COSMOS_PORT"

# The Cosmos port being open is not enough: check it answers the account metadata request.
until curl -skf --max-time 2 "https://127.0.0.1:$COSMOS_PORT/" >/dev/null 2>&1 || curl -sf --max-time 2 "http://127.0.0.1:$COSMOS_PORT/" >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then fail "Cosmos wrapper" "$LOGS/cosmos.log"; fi
  sleep 0.1
done

elapsed_ms=$(( ($(date +%s%N) - started_at) / 1000000 ))
echo "infra/local: ready in ${elapsed_ms} ms (started: azurite=$AZURITE_STARTED cosmos=$COSMOS_STARTED)"
if [ "$BLOB_PORT$QUEUE_PORT$TABLE_PORT" = "100001000110002" ]; then
  echo "  Storage: UseDevelopmentStorage=true"
else
  echo "  Storage: DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$BLOB_PORT/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$QUEUE_PORT/devstoreaccount1;TableEndpoint=http://127.0.0.1:$TABLE_PORT/devstoreaccount1;"
fi
echo "  Cosmos:  AccountEndpoint=https://127.0.0.1:$COSMOS_PORT/;AccountKey=bG9jYWw=;"

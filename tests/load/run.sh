#!/usr/bin/env bash
# Load test of the scoring API on loopback: starts the local Azure stack, builds and starts the app on 127.0.0.1,
# seeds a small generated drop set through the real ingestion path, trains, then drives POST /api/score and
# GET /api/customers/{id}/scores with wrk for DURATION seconds each. Prints ONE JSON object (per endpoint: req/s,
# p50/p99 latency in ms, errors = non-2xx + socket errors, the app's CPU time per request and wrk's CPU time) and the
# machine's load average (the machine may be shared: compare CPU per request as well as req/s).
#   tests/load/run.sh                       # 30 s per endpoint, 64 connections, 300 customers
#   DURATION=10 WARMUP=5 CONNECTIONS=32 CUSTOMERS=500 tests/load/run.sh   (WARMUP: unmeasured seconds per endpoint first)
# Ports (defaults chosen away from a normal local run): PORT=7171, AZURITE_BLOB/QUEUE/TABLE_PORT=21000-21002, COSMOS_PORT=21081.
# Stops the app it started; stops the local stack too if it started it (unless KEEP_STACK=1). Logs: .local/load/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/local-env.sh
. scripts/local-env.sh
# A local stack that already runs is used as it is (on its own ports) and left running afterwards.
STACK_WAS_RUNNING=0
if stack_running; then
  STACK_WAS_RUNNING=1
fi
export AZURITE_BLOB_PORT="${AZURITE_BLOB_PORT:-21000}" AZURITE_QUEUE_PORT="${AZURITE_QUEUE_PORT:-21001}"
export AZURITE_TABLE_PORT="${AZURITE_TABLE_PORT:-21002}" COSMOS_PORT="${COSMOS_PORT:-21081}"
. scripts/local-env.sh
PORT="${PORT:-7171}"
DURATION="${DURATION:-30}"
WARMUP="${WARMUP:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
CUSTOMERS="${CUSTOMERS:-300}"
SEED="${SEED:-42}"
STATE="$ROOT/.local/load"
API="http://127.0.0.1:$PORT/api"
mkdir -p "$STATE"
log() { echo "load: $*" >&2; }
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const o=JSON.parse(s);console.log(eval(process.argv[1]))})" "$1"; }

if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian package)"
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y wrk >"$STATE/apt.log" 2>&1; else sudo apt-get install -y wrk >"$STATE/apt.log" 2>&1; fi
fi
command -v wrk >/dev/null || { log "wrk is not available; see $STATE/apt.log"; exit 1; }
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 300 ] || { log "DURATION must be 1-300 seconds"; exit 1; }

APP_PID=""
cleanup() {
  if [ -n "$APP_PID" ] && [ -d "/proc/$APP_PID" ]; then kill -TERM "$APP_PID" 2>/dev/null || true; wait "$APP_PID" 2>/dev/null || true; fi
  if [ "${KEEP_STACK:-0}" != "1" ] && [ "$STACK_WAS_RUNNING" = 0 ]; then infra/local/stop.sh >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

log "local stack on 127.0.0.1 (blob $AZURITE_BLOB_PORT, cosmos $COSMOS_PORT)"
infra/local/start.sh >&2

log "build"
dotnet build functions/iCrm.Functions -c Release -nologo -clp:ErrorsOnly >&2
dotnet build tools/iCrm.DataGen -c Release -nologo -clp:ErrorsOnly >&2

log "start the app on $API"
# Request logging off (Warning): the measurement is of the API, not of the console.
LocalTriggers__Enabled=true LocalTriggers__DropPollInterval=00:00:01 IcrmCosmos__createIfMissing=true Security__PiiKey="load-test-only-pii-key-0123456789" \
  Security__ApiKey="" Security__AdminKey="" ICRM_PORT="$PORT" IcrmStorage="$ICRM_LOCAL_STORAGE" IcrmCosmos="$ICRM_LOCAL_COSMOS" \
  Logging__LogLevel__Default=Warning ASPNETCORE_ENVIRONMENT=Production \
  dotnet functions/iCrm.Functions/bin/Release/net10.0/iCrm.Functions.dll >"$STATE/app.log" 2>&1 &
APP_PID=$!
for _ in $(seq 1 120); do curl -s -o /dev/null "$API/health" && break; sleep 0.5; done
curl -s -o /dev/null "$API/health" || { log "the app did not start; see $STATE/app.log"; exit 1; }

log "seed $CUSTOMERS generated customers through the drops container"
seeded_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
dotnet tools/iCrm.DataGen/bin/Release/net10.0/iCrm.DataGen.dll --customers "$CUSTOMERS" --seed "$SEED" --out "$STATE/sample" --clean-only \
  --end "$(date -u +%Y-%m-%d)" --start "$(date -u -d '3 years ago' +%Y-%m-%d)" --upload "$ICRM_LOCAL_STORAGE" >"$STATE/sample-summary.json"
files=$(find "$STATE/sample/drops" -type f | wc -l)
started=$(date +%s)
while true; do
  done_count=$(curl -sf "$API/ingestions?pageSize=500" | json "o.items.filter(i=>i.status!=='running' && new Date(i.startedAt) >= new Date('$seeded_at')).length" || echo 0)
  [ "$done_count" -ge "$files" ] && break
  [ $(( $(date +%s) - started )) -gt 600 ] && { log "ingestion did not finish within 10 minutes; see $STATE/app.log"; exit 1; }
  sleep 2
done

log "train"
run=$(curl -sf -X POST "$API/train" -H 'content-type: application/json' -d '{"kinds":["churn"]}' | json 'o.runId')
started=$(date +%s)
while true; do
  state=$(curl -sf "$API/train/$run" | json 'o.status')
  [ "$state" = "queued" ] || [ "$state" = "running" ] || break
  [ $(( $(date +%s) - started )) -gt 600 ] && { log "training did not finish within 10 minutes"; exit 1; }
  sleep 1
done
[ "$state" = "succeeded" ] || { log "training ended '$state': $(curl -sf "$API/train/$run")"; exit 1; }
customer=$(curl -sf "$API/customers?pageSize=1" | json 'o.items[0].id')
curl -sf "$API/customers/$customer/scores" >/dev/null || { log "scores of $customer failed"; exit 1; }

# The what-if document: six orders over the last year, an event bucket and a rated feedback item.
now=$(date -u +%s)
orders=""
for i in 0 1 2 3 4 5; do
  d=$(date -u -d "@$(( now - (330 - i * 60) * 86400 ))" +%Y-%m-%dT%H:%M:%SZ)
  orders+="${orders:+,}{\"orderId\":\"W$i\",\"line\":1,\"date\":\"$d\",\"productId\":\"P$i\",\"quantity\":1,\"amount\":$(( 20 + i * 7 )).5,\"channel\":\"web\",\"returned\":false}"
done
export SCORE_BODY="{\"orders\":[$orders],\"eventMonths\":[{\"month\":\"$(date -u +%Y-%m)\",\"type\":\"view\",\"count\":12}],\"feedback\":[{\"timestamp\":\"$(date -u -d '10 days ago' +%Y-%m-%dT%H:%M:%SZ)\",\"channel\":\"email\",\"text\":\"fast delivery\",\"rating\":5}],\"attributes\":{\"tier\":\"gold\"}}"
export LOAD_DIR="$ROOT/tests/load"
curl -sf -X POST "$API/score" -H 'content-type: application/json' -d "$SCORE_BODY" >/dev/null || { log "POST /score failed"; exit 1; }

# CPU seconds (user + system) a process has used so far, from /proc (clock ticks).
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
# On a shared machine req/s depends on what else runs; the app's CPU time per request does much less, so it is reported
# too (app_cpu_us_per_request), with wrk's own CPU time (wrk_cpu_s) to show what the load generator took from the app.
measure() {
  local script="$1" url="$2" out app_before app_after wrk_pid wrk_cpu requests
  app_before=$(cpu_seconds "$APP_PID")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s -s "$LOAD_DIR/$script" "$url" >"$STATE/wrk.out" 2>&1 &
  wrk_pid=$!
  wrk_cpu=0
  while [ -d "/proc/$wrk_pid" ]; do wrk_cpu=$(cpu_seconds "$wrk_pid" 2>/dev/null || echo "$wrk_cpu"); sleep 0.5; done
  wait "$wrk_pid" || { log "wrk failed: $(cat "$STATE/wrk.out")"; exit 1; }
  app_after=$(cpu_seconds "$APP_PID")
  out=$(cat "$STATE/wrk.out")
  echo "$out" >>"$STATE/wrk.log"
  out=$(echo "$out" | grep '^{"requests"' | tail -1)
  requests=$(echo "$out" | json 'o.requests')
  echo "$out" | APP_CPU=$(awk -v a="$app_before" -v b="$app_after" 'BEGIN{printf "%.2f", b - a}') WRK_CPU="$wrk_cpu" REQUESTS="$requests" \
    json 'JSON.stringify(Object.assign(o, {app_cpu_s: +process.env.APP_CPU, app_cpu_us_per_request: +(process.env.APP_CPU * 1e6 / Math.max(1, process.env.REQUESTS)).toFixed(1), wrk_cpu_s: +process.env.WRK_CPU}))'
}
# Warm-up, not measured: on a busy 2-core machine tiered JIT needs a while to reach optimised code.
log "warm-up: ${WARMUP}s per endpoint"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$LOAD_DIR/score.lua" "$API/score" >/dev/null 2>&1
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$LOAD_DIR/scores.lua" "$API/customers/$customer/scores" >/dev/null 2>&1
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "POST /api/score for ${DURATION}s ($CONNECTIONS connections)"
score=$(measure score.lua "$API/score")
log "GET /api/customers/{id}/scores for ${DURATION}s ($CONNECTIONS connections)"
scores=$(measure scores.lua "$API/customers/$customer/scores")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

printf '{"tool":"wrk %s","duration_s":%s,"warmup_s":%s,"connections":%s,"threads":%s,"cores":%s,"customers":%s,"load_average_before":"%s","load_average_after":"%s","endpoints":{"POST /api/score":%s,"GET /api/customers/{id}/scores":%s}}\n' \
  "$(wrk -v 2>&1 | head -1 | awk '{print $2}')" "$DURATION" "$WARMUP" "$CONNECTIONS" "$THREADS" "$(nproc)" "$CUSTOMERS" "$load_before" "$load_after" "$score" "$scores"

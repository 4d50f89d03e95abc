#!/usr/bin/env bash
# Runs iCrm's main job locally, end to end: starts the local Azure stack, builds, starts the app with local triggers
# (as the Functions host would drive it), generates and drops sample data into Azurite, waits for ingestion, trains the
# models, and shows what happened: rows ingested, models trained, a customer's scores, and where the API is.
# The app keeps running afterwards; stop everything with scripts/stop.sh.
#   CUSTOMERS=2000 SEED=42 scripts/run-local.sh
#   scripts/run-local.sh --empty    starts the stack and the app only, with no sample data and no training, for your
#                                   own files (drop them with scripts/drop.sh FILE SOURCE ENTITY)
set -euo pipefail
EMPTY=0
if [ "${1:-}" = "--empty" ]; then EMPTY=1; elif [ -n "${1:-}" ]; then echo "usage: scripts/run-local.sh [--empty]" >&2; exit 2; fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/local-env.sh
. scripts/local-env.sh
CUSTOMERS="${CUSTOMERS:-2000}"
SEED="${SEED:-42}"
STATE="$ROOT/.local"
PORT="${ICRM_PORT:-7071}"
API="http://127.0.0.1:$PORT/api"
mkdir -p "$STATE"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const o=JSON.parse(s);console.log(eval(process.argv[1]))})" "$1"; }

step "1/6 local Azure stack (Azurite + Cosmos-protocol server on 127.0.0.1)"
infra/local/start.sh

if [ ! -f local.settings.json ]; then
  cp local.settings.sample.json local.settings.json
  echo "created local.settings.json from local.settings.sample.json"
fi

step "2/6 build"
dotnet build functions/iCrm.Functions -c Release -nologo -clp:ErrorsOnly
dotnet build tools/iCrm.DataGen -c Release -nologo -clp:ErrorsOnly

step "3/6 start the app with local triggers on $API"
scripts/stop.sh --app-only >/dev/null 2>&1 || true
# The built dll, not `dotnet run`: a Worker-SDK project's `dotnet run` tries to launch Core Tools (func), which cannot be
# installed here. Started without the Functions host, the app serves the same functions on its own ASP.NET Core host,
# and LocalTriggers__Enabled turns on the drop watcher (Event Grid's part) and the scheduler (the timer's).
LocalTriggers__Enabled=true ICRM_PORT="$PORT" IcrmStorage="$ICRM_LOCAL_STORAGE" IcrmCosmos="$ICRM_LOCAL_COSMOS" \
  setsid nohup dotnet functions/iCrm.Functions/bin/Release/net10.0/iCrm.Functions.dll >"$STATE/app.log" 2>&1 &
echo $! >"$STATE/app.pid"
# Any HTTP answer from the health function means the app is up (it may say 503 until the store is ready).
for _ in $(seq 1 120); do
  curl -s -o /dev/null "$API/health" && break
  sleep 0.5
done
curl -s -o /dev/null "$API/health" || { echo "the app did not start; see $STATE/app.log" >&2; tail -20 "$STATE/app.log" >&2; exit 1; }
echo "app running (pid $(cat "$STATE/app.pid")), log: $STATE/app.log"

if [ "$EMPTY" = 1 ]; then
  cat <<MSG

iCrm is running locally, empty (no sample data, no models yet).
  API:        $API   (OpenAPI: $API/openapi.json)
  Dashboard:  $API/dashboard/
  Drop a file: scripts/drop.sh FILE SOURCE ENTITY   e.g. scripts/drop.sh orders.csv web orders
  Follow it:  curl $API/ingestions
  Train:      curl -X POST $API/train -H 'content-type: application/json' -d '{}'
  Stop:       scripts/stop.sh
MSG
  exit 0
fi

since=$(date -u +%Y-%m-%dT%H:%M:%S)
step "4/6 generate $CUSTOMERS customers of sample data (seed $SEED) and drop them into Azurite"
dotnet tools/iCrm.DataGen/bin/Release/net10.0/iCrm.DataGen.dll --customers "$CUSTOMERS" --seed "$SEED" --out "$STATE/sample" \
  --end "$(date -u +%Y-%m-%d)" --start "$(date -u -d '3 years ago' +%Y-%m-%d)" --upload "$ICRM_LOCAL_STORAGE" >"$STATE/sample-summary.json"
files=$(find "$STATE/sample/drops" -type f | wc -l)
echo "dropped $files files"

step "5/6 wait for the Ingest function to process every drop"
started=$(date +%s)
while true; do
  page=$(curl -sf "$API/ingestions?pageSize=500" | json "JSON.stringify({items:o.items.filter(i=>i.startedAt>='$since')})" || echo '{"items":[]}')
  # Finished: completed, rejected (cannot be ingested as is), or failed on its last attempt (then in the poison queue).
  done_count=$(echo "$page" | json 'o.items.filter(i=>i.status==="completed"||i.status==="rejected"||(i.status==="failed"&&i.attempts>=5)).length')
  if [ "$done_count" -ge "$files" ]; then break; fi
  if [ $(( $(date +%s) - started )) -gt 900 ]; then echo "ingestion did not finish within 15 minutes; see $STATE/app.log" >&2; exit 1; fi
  printf '\r%s of %s drops processed' "$done_count" "$files"
  sleep 2
done
echo
echo "$page" | json 'o.items.map(i=>`${i.status.padEnd(9)} ${i.blobPath.padEnd(45)} read ${i.rowsRead} accepted ${i.rowsAccepted} rejected ${i.rowsRejected} duplicates ${i.duplicatesSkipped}`).join("\n")'
echo "$page" | json '(()=>{const s=o.items.reduce((a,i)=>({r:a.r+i.rowsRead,a:a.a+i.rowsAccepted,j:a.j+i.rowsRejected,d:a.d+i.duplicatesSkipped,c:a.c+i.customersCreated,m:a.m+i.customersMerged}),{r:0,a:0,j:0,d:0,c:0,m:0});return `TOTAL rows read ${s.r} = accepted ${s.a} + rejected ${s.j} + duplicates ${s.d}; profiles created ${s.c}, merged ${s.m}`})()'

step "6/6 train the models and score a customer"
run=$(curl -sf -X POST "$API/train" -H 'content-type: application/json' -d '{}' | json 'o.runId')
while true; do
  status=$(curl -sf "$API/train/$run")
  state=$(echo "$status" | json 'o.status')
  [ "$state" = "queued" ] || [ "$state" = "running" ] || break
  sleep 2
done
echo "$status" | json 'Object.entries(o.models||{}).map(([k,m])=>`${k.padEnd(16)} ${m.reason.padEnd(10)} ${m.metric}=${Number(m.value).toFixed(4)} version ${m.version}`).join("\n")'
echo "training run $run: $state"
customer=$(curl -sf "$API/customers?pageSize=1" | json 'o.items[0].id')
echo "scores of customer $customer:"
curl -sf "$API/customers/$customer/scores" | json 'JSON.stringify(o,null,2)'

cat <<MSG

iCrm is running locally.
  Dashboard:      $API/dashboard/   (overview, segments, customers, models, ingestion; this customer: $API/dashboard/#/customer/$customer)
  API:            $API   (e.g. curl $API/customers/$customer)
  OpenAPI:        $API/openapi.json
  Drop more data: upload to the Azurite container 'drops' as {source}/{entity}/{file}; the app picks it up.
  Stop:           scripts/stop.sh
MSG

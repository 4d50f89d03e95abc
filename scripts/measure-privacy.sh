#!/usr/bin/env bash
# Times the data-subject operations on the local stack through the HTTP API: export (GET /api/customers/{id}/export) and
# erase (POST /api/customers/{id}:erase) of RUNS customers, one at a time, on a store filled with CUSTOMERS generated
# customers (several drops, with their quarantine files). Prints one JSON object with the medians (milliseconds, curl's
# time_total: request to last byte) and writes it to OUT when set.
#   infra/local/start.sh; dotnet build functions/iCrm.Functions -c Release; dotnet build tools/iCrm.DataGen -c Release
#   CUSTOMERS=3000 RUNS=15 OUT=/tmp/privacy.json scripts/measure-privacy.sh
# The app is started here (port ICRM_PORT, default 7071) and stopped at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/local-env.sh
. scripts/local-env.sh
CUSTOMERS="${CUSTOMERS:-3000}"
RUNS="${RUNS:-15}"
PORT="${ICRM_PORT:-7071}"
API="http://127.0.0.1:$PORT/api"
STATE="$(mktemp -d /tmp/icrm-privacy-XXXXXX)"
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const o=JSON.parse(s);console.log(eval(process.argv[1]))})" "$1"; }

stack_running || { echo "the local stack is not running: infra/local/start.sh" >&2; exit 1; }
LocalTriggers__Enabled=true ICRM_PORT="$PORT" IcrmStorage="$ICRM_LOCAL_STORAGE" IcrmCosmos="$ICRM_LOCAL_COSMOS" \
  IcrmCosmos__createIfMissing=true Security__PiiKey="measure-privacy-pii-key-0123456789" \
  dotnet functions/iCrm.Functions/bin/Release/net10.0/iCrm.Functions.dll >"$STATE/app.log" 2>&1 &
APP=$!
trap 'kill "$APP" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -s -o /dev/null "$API/health" && break; sleep 0.5; done

since=$(date -u +%Y-%m-%dT%H:%M:%S)
dotnet tools/iCrm.DataGen/bin/Release/net10.0/iCrm.DataGen.dll --customers "$CUSTOMERS" --seed 7 --out "$STATE/sample" \
  --end "$(date -u +%Y-%m-%d)" --start "$(date -u -d '2 years ago' +%Y-%m-%d)" --upload "$ICRM_LOCAL_STORAGE" >/dev/null
files=$(find "$STATE/sample/drops" -type f | wc -l)
started=$(date +%s)
while true; do
  page=$(curl -sf "$API/ingestions?pageSize=500" || echo '{"items":[]}')
  finished=$(echo "$page" | json "o.items.filter(i=>i.startedAt>='$since'&&(i.status==='completed'||i.status==='rejected')).length")
  [ "$finished" -ge "$files" ] && break
  [ $(( $(date +%s) - started )) -gt 1800 ] && { echo "ingestion did not finish; see $STATE/app.log" >&2; exit 1; }
  sleep 3
done
rejected=$(echo "$page" | json "o.items.filter(i=>i.startedAt>='$since').reduce((a,i)=>a+i.rowsRejected,0)")
read_rows=$(echo "$page" | json "o.items.filter(i=>i.startedAt>='$since').reduce((a,i)=>a+i.rowsRead,0)")

ids=$(curl -sf "$API/customers?pageSize=$((RUNS * 2))" | json "o.items.map(i=>i.id).join(' ')")
set -- $ids
exports=(); erases=(); removed=0
for id in "${@:1:$RUNS}"; do
  exports+=("$(curl -s -o /dev/null -w '%{time_total}' "$API/customers/$id/export")")
done
for id in "${@:1:$RUNS}"; do
  out=$(curl -s -w '\n%{time_total}' -X POST "$API/customers/$id:erase" -H 'content-type: application/json' -d '{"reason":"measure-privacy"}')
  erases+=("$(echo "$out" | tail -1)")
  removed=$((removed + $(echo "$out" | head -1 | json 'o.quarantineRowsRemoved')))
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m*1000}'; }
result=$(printf '{"suite":"privacy","machine":{"cores":%s},"metrics":{"customers":%s,"drops":%s,"rows_read":%s,"rows_in_quarantine":%s,"runs":%s,"export_median_ms":%s,"erase_median_ms":%s,"quarantine_rows_removed":%s}}' \
  "$(nproc)" "$CUSTOMERS" "$files" "$read_rows" "$rejected" "$RUNS" "$(median "${exports[@]}")" "$(median "${erases[@]}")" "$removed")
echo "$result"
[ -n "${OUT:-}" ] && echo "$result" >"$OUT"
rm -rf "$STATE/sample"

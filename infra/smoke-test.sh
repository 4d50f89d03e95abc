#!/usr/bin/env bash
# End-to-end smoke test of a deployed iCrm: uploads a generated orders drop, waits for its ingestion report,
# trains, and fetches a customer's profile and scores through the API.
#
# Usage: infra/smoke-test.sh -g <resource-group> [-n <function-app>] [-s <storage-account>]
#   or set ICRM_RESOURCE_GROUP / ICRM_FUNCTION_APP / ICRM_STORAGE_ACCOUNT.
# The API checks roles itself (the host checks no key): the calls need reader and admin, from either
#   ICRM_API_KEY: the secret of a role key holding reader and admin (serviceKeys in infra/main.bicepparam), or
#   ICRM_AUTH_CLIENT_ID: the app registration's client id, for an Entra ID token of the person logged in to az
#   (who must hold the app roles reader and admin).
# Needs: az (logged in, with Storage Blob Data Contributor on the drops container: deploy with
#        uploaderPrincipalId = your object id), curl, jq, awk, sha256sum or shasum.
# Tunables: SMOKE_CUSTOMERS (default 300), SMOKE_INGEST_TIMEOUT (s, 900), SMOKE_TRAIN_TIMEOUT (s, 2400).
set -euo pipefail

resource_group="${ICRM_RESOURCE_GROUP:-}"
app_name="${ICRM_FUNCTION_APP:-}"
storage_account="${ICRM_STORAGE_ACCOUNT:-}"
customers="${SMOKE_CUSTOMERS:-300}"
ingest_timeout="${SMOKE_INGEST_TIMEOUT:-900}"
train_timeout="${SMOKE_TRAIN_TIMEOUT:-2400}"

while getopts "g:n:s:h" option; do
  case "${option}" in
    g) resource_group="${OPTARG}" ;;
    n) app_name="${OPTARG}" ;;
    s) storage_account="${OPTARG}" ;;
    *) sed -n '2,14p' "$0"; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$*"; }
fail() { printf '\nSMOKE TEST FAILED at step "%s": %s\n' "${current_step:-setup}" "$*" >&2; exit 1; }

work_dir="$(mktemp -d)"
trap 'rm -rf "${work_dir}"' EXIT
body="${work_dir}/body.json"
headers="${work_dir}/headers.txt"

# http METHOD URL [JSON-BODY] -> prints the status code; the body is in $body, the headers in $headers.
# Sends the caller's credentials ($auth_header, set below); curl reads it from a file so it stays out of `ps`.
http() {
  local method="$1" url="$2" data="${3:-}"
  local args=(-sS -X "${method}" -o "${body}" -D "${headers}" -w '%{http_code}' --max-time 120 -H "@${auth_header}")
  if [[ -n "${data}" ]]; then
    args+=(-H 'Content-Type: application/json' --data "${data}")
  fi
  curl "${args[@]}" "${url}" || true
}

lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi
}

show_body() { head -c 2000 "${body}" 2>/dev/null || true; echo; }

current_step="prerequisites"
step "${current_step}"
for tool in az curl jq awk; do
  command -v "${tool}" >/dev/null || fail "'${tool}' is not installed"
done
[[ -n "${resource_group}" ]] || fail "no resource group: pass -g <resource-group> or set ICRM_RESOURCE_GROUP"
az account show --query name -o tsv >/dev/null 2>&1 || fail "az is not logged in (run: az login)"

current_step="find the deployed resources"
step "${current_step}"
if [[ -z "${app_name}" ]]; then
  app_name="$(az functionapp list -g "${resource_group}" --query "[?tags.application=='icrm'].name | [0]" -o tsv)"
fi
if [[ -z "${storage_account}" ]]; then
  storage_account="$(az storage account list -g "${resource_group}" --query "[?tags.application=='icrm'].name | [0]" -o tsv)"
fi
[[ -n "${app_name}" && "${app_name}" != "None" ]] || fail "no iCrm function app in resource group '${resource_group}' (deploy infra/main.bicep first)"
[[ -n "${storage_account}" && "${storage_account}" != "None" ]] || fail "no iCrm storage account in resource group '${resource_group}'"
host="$(az functionapp show -g "${resource_group}" -n "${app_name}" --query defaultHostName -o tsv)"
base="https://${host}/api"
echo "function app: ${app_name} (${base})"
echo "storage:      ${storage_account}"

current_step="credentials"
step "${current_step}"
auth_header="${work_dir}/auth-header.txt"
if [[ -n "${ICRM_API_KEY:-}" ]]; then
  printf 'x-api-key: %s\n' "${ICRM_API_KEY}" > "${auth_header}"
  echo "calling with the role key in ICRM_API_KEY"
elif [[ -n "${ICRM_AUTH_CLIENT_ID:-}" ]]; then
  token="$(az account get-access-token --resource "api://${ICRM_AUTH_CLIENT_ID}" --query accessToken -o tsv 2>/dev/null || true)"
  [[ -n "${token}" ]] || fail "could not get an Entra ID token for api://${ICRM_AUTH_CLIENT_ID} (az account get-access-token); is the Azure CLI allowed to request it?"
  printf 'Authorization: Bearer %s\n' "${token}" > "${auth_header}"
  echo "calling as the person logged in to az (Entra ID token)"
else
  fail "no credentials: set ICRM_API_KEY (a role key with reader and admin) or ICRM_AUTH_CLIENT_ID (sign in with Entra ID); host function keys are not accepted by the API"
fi

current_step="health check"
step "${current_step}"
status="$(http GET "${base}/health")"
[[ "${status}" == "200" ]] || { show_body; fail "GET /api/health answered ${status} (publish the app: see infra/README.md; the first call after a deployment may need a minute)"; }
show_body

current_step="generate and upload a drop"
step "${current_step}"
run_tag="smoke-$(date -u +%Y%m%d%H%M%S)"
drop_file="${work_dir}/${run_tag}.csv"
# Orders over the last two years for a few hundred customers, some of whom stop buying (so churn has labels).
awk -v customers="${customers}" -v tag="${run_tag}" -v today="$(date -u +%s)" '
# Days since 1970-01-01 -> YYYY-MM-DD (civil-from-days), so any POSIX awk will do.
function iso_date(days,   z, era, doe, yoe, y, doy, mp, d, m) {
  z = days + 719468; era = int(z / 146097); doe = z - era * 146097
  yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
  y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100)); mp = int((5 * doy + 2) / 153)
  d = doy - int((153 * mp + 2) / 5) + 1; m = mp < 10 ? mp + 3 : mp - 9
  return sprintf("%04d-%02d-%02d", y + (m <= 2), m, d)
}
BEGIN {
  srand(42)
  print "order_id,customer_id,order_date,product_id,quantity,unit_price,channel"
  order = 0
  for (c = 1; c <= customers; c++) {
    orders = 1 + int(rand() * 12)
    active_days = (rand() < 0.3) ? 200 + int(rand() * 500) : 730
    for (o = 0; o < orders; o++) {
      order++
      day = int(today / 86400) - int(rand() * active_days + (730 - active_days))
      printf "%s-o%06d,%s-c%04d,%s,p%03d,%d,%.2f,web\n", tag, order, tag, c, iso_date(day), 1 + int(rand() * 40), 1 + int(rand() * 3), 5 + rand() * 95
    }
  }
}' > "${drop_file}"
blob_name="web/orders/${run_tag}.csv"
echo "drop: drops/${blob_name} ($(wc -l < "${drop_file}") lines)"
az storage blob upload --auth-mode login --account-name "${storage_account}" --container-name drops \
  --name "${blob_name}" --file "${drop_file}" --overwrite --only-show-errors >/dev/null \
  || fail "upload refused: you need Storage Blob Data Contributor on the drops container (deploy with uploaderPrincipalId = your object id; role assignments take a few minutes), and with network isolation your IP in allowedIpAddresses"
etag="$(az storage blob show --auth-mode login --account-name "${storage_account}" --container-name drops \
  --name "${blob_name}" --query properties.etag -o tsv)"
etag="${etag//\"/}"
# Drop id contract (ARCHITECTURE.md): first 32 hex chars of SHA-256 over "{container}/{blob path}|{ETag}".
drop_id="$(printf '%s' "drops/${blob_name}|${etag}" | sha256 | cut -c1-32)"
echo "drop id: ${drop_id}"

current_step="wait for the ingestion report"
step "${current_step}"
deadline=$((SECONDS + ingest_timeout))
report_status=""
while (( SECONDS < deadline )); do
  status="$(http GET "${base}/ingestions/${drop_id}")"
  if [[ "${status}" == "200" ]]; then
    report_status="$(jq -r '.status // .state // "unknown"' "${body}")"
    case "$(lower "${report_status}")" in
      *fail*|*error*) show_body; fail "the drop was ingested with status '${report_status}'" ;;
      *complete*|*succeed*|*success*|*done*|*processed*) break ;;
    esac
  elif [[ "${status}" != "404" ]]; then
    show_body; fail "GET /api/ingestions/${drop_id} answered ${status}"
  fi
  echo "  ... ${status} ${report_status} (waiting for Event Grid -> blob extension webhook -> Ingest)"
  sleep 15
done
if (( SECONDS >= deadline )); then
  http GET "${base}/ingestions" >/dev/null || true
  grep -q "${run_tag}" "${body}" && echo "(GET /api/ingestions mentions ${run_tag}: the drop id differs from the contract?)"
  fail "no finished ingestion report for ${drop_id} after ${ingest_timeout}s: check the Event Grid subscription drop-created (run infra/subscribe-drops.sh; dead letters in eventgrid-deadletter), the poison queue webjobs-blobtrigger-poison, and the app's logs in Application Insights"
fi
jq '{status, rowsRead, rowsAccepted, rowsRejected, duplicatesSkipped}' "${body}" 2>/dev/null || show_body

current_step="train"
step "${current_step}"
status="$(http POST "${base}/train" '{}')"
[[ "${status}" == "202" || "${status}" == "200" ]] || { show_body; fail "POST /api/train answered ${status} (expected 202)"; }
run_id="$(jq -r '.runId // .id // empty' "${body}")"
[[ -n "${run_id}" ]] || fail "POST /api/train answered ${status} without a run id: $(head -c 500 "${body}")"
echo "training run: ${run_id}"
deadline=$((SECONDS + train_timeout))
run_status=""
while (( SECONDS < deadline )); do
  status="$(http GET "${base}/train/${run_id}")"
  [[ "${status}" == "200" ]] || { show_body; fail "GET /api/train/${run_id} answered ${status}"; }
  run_status="$(jq -r '.status // .state // "unknown"' "${body}")"
  case "$(lower "${run_status}")" in
    *fail*|*error*) show_body; fail "training run ${run_id} ended with status '${run_status}'" ;;
    *complete*|*succeed*|*success*|*done*|*finished*) break ;;
  esac
  echo "  ... ${run_status}"
  sleep 20
done
(( SECONDS < deadline )) || fail "training run ${run_id} did not finish within ${train_timeout}s (last status '${run_status}')"
show_body

current_step="find a customer by source id"
step "${current_step}"
status="$(http GET "${base}/customers/by-source/web/${run_tag}-c0001")"
[[ "${status}" == "200" ]] || { show_body; fail "GET /api/customers/by-source/web/${run_tag}-c0001 answered ${status}"; }
customer_id="$(jq -r '.id // .customerId // empty' "${body}")"
[[ -n "${customer_id}" ]] || fail "the profile has no id: $(head -c 500 "${body}")"
echo "customer id: ${customer_id}"

current_step="fetch scores"
step "${current_step}"
status="$(http GET "${base}/customers/${customer_id}/scores")"
if [[ "${status}" == "503" ]]; then
  show_body; fail "no champion model yet: training ran but promoted nothing (try a larger drop: SMOKE_CUSTOMERS=2000)"
fi
[[ "${status}" == "200" ]] || { show_body; fail "GET /api/customers/${customer_id}/scores answered ${status}"; }
show_body

current_step="done"
printf '\nSMOKE TEST PASSED: drop %s ingested, run %s trained, customer %s scored.\n' "${drop_id}" "${run_id}" "${customer_id}"

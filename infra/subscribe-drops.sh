#!/usr/bin/env bash
# Subscribes the deployed Ingest function to BlobCreated events under drops/ (step two of a deployment, after the
# code is deployed): waits until the Functions host has created the blob extension's system key (blobs_extension),
# then deploys infra/drop-subscription.bicep, which reads that key itself and points the Event Grid subscription at
# https://<app>/runtime/webhooks/blobs?functionName=Host.Functions.Ingest. The key is never printed or stored.
#
# Usage: infra/subscribe-drops.sh [-g <resource-group>] [-n <function-app>] [-t <system-topic>]
#   azd runs it as the postdeploy hook with the outputs of main.bicep in the environment (resourceGroupName,
#   functionAppName, dropEventsTopicName); by hand, -g is enough: app and topic are found by their tag.
# Needs: az (logged in, allowed to read the app's keys and to deploy to the resource group), curl.
# Tunables: SUBSCRIBE_KEY_TIMEOUT (s to wait for the key, default 600).
set -euo pipefail

resource_group="${resourceGroupName:-${AZURE_RESOURCE_GROUP:-}}"
app_name="${functionAppName:-}"
topic_name="${dropEventsTopicName:-}"
timeout="${SUBSCRIBE_KEY_TIMEOUT:-600}"
template="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/drop-subscription.bicep"

while getopts "g:n:t:h" option; do
  case "${option}" in
    g) resource_group="${OPTARG}" ;;
    n) app_name="${OPTARG}" ;;
    t) topic_name="${OPTARG}" ;;
    *) sed -n '2,12p' "$0"; exit 2 ;;
  esac
done

fail() { echo "subscribe-drops: $*" >&2; exit 1; }

command -v az >/dev/null || fail "the Azure CLI (az) is not installed"
[[ -n "${resource_group}" ]] || fail "no resource group: pass -g <resource-group> (or set AZURE_RESOURCE_GROUP)"
if [[ -z "${app_name}" ]]; then
  app_name="$(az functionapp list -g "${resource_group}" --query "[?tags.application=='icrm'].name | [0]" -o tsv)"
fi
if [[ -z "${topic_name}" ]]; then
  topic_name="$(az eventgrid system-topic list -g "${resource_group}" --query "[?tags.application=='icrm'].name | [0]" -o tsv)"
fi
[[ -n "${app_name}" && "${app_name}" != "None" ]] || fail "no iCrm function app in '${resource_group}' (deploy infra/main.bicep first)"
[[ -n "${topic_name}" && "${topic_name}" != "None" ]] || fail "no iCrm Event Grid system topic in '${resource_group}'"

# The host creates blobs_extension when it first starts with a blob trigger whose source is Event Grid; a request
# wakes an app that scaled to zero after the deployment.
echo "subscribe-drops: waiting for the blob extension's key on ${app_name} (up to ${timeout} s)"
host="$(az functionapp show -g "${resource_group}" -n "${app_name}" --query defaultHostName -o tsv)"
deadline=$(( $(date +%s) + timeout ))
until [[ -n "$(az functionapp keys list -g "${resource_group}" -n "${app_name}" --query "systemKeys.blobs_extension" -o tsv 2>/dev/null)" ]]; do
  if (( $(date +%s) > deadline )); then
    fail "the app has no 'blobs_extension' system key after ${timeout} s: is the code deployed, and does it declare the Ingest blob trigger with Source = EventGrid? (az functionapp function list -g ${resource_group} -n ${app_name})"
  fi
  curl -s -o /dev/null --max-time 30 "https://${host}/api/health" || true
  sleep 15
done

echo "subscribe-drops: subscribing Ingest to BlobCreated under drops/ (topic ${topic_name})"
az deployment group create -g "${resource_group}" -n icrm-drop-subscription -f "${template}" \
  -p functionAppName="${app_name}" topicName="${topic_name}" --query properties.provisioningState -o tsv
echo "subscribe-drops: done; new files under drops/ now reach Ingest"

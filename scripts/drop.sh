#!/usr/bin/env bash
# Drops one file into the local stack, as a data team would in Azure: uploads FILE to the Azurite container 'drops'
# as {SOURCE}/{ENTITY}/{file name}. A running app (scripts/run-local.sh, with or without --empty) picks it up, ingests
# it and reports it at GET /api/ingestions/{dropId}; the script prints the blob path and that drop id.
#   scripts/drop.sh FILE SOURCE ENTITY
#   e.g. scripts/drop.sh ~/exports/orders-2025-06.csv web orders
# SOURCE: lower-case letters, digits, '_' or '-' (web, pos, app, callcenter, email, erp, ...).
# ENTITY: customers, orders, events, feedback or subscriptions. FILE: .csv/.tsv/.txt/.jsonl/.ndjson, optionally .gz.
# Talks only to 127.0.0.1, on the ports of the running stack or AZURITE_BLOB_PORT/... (scripts/local-env.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "$#" -ne 3 ]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
file="$1" source="$2" entity="$3"
[ -f "$file" ] || { echo "drop.sh: no such file: $file" >&2; exit 2; }
file="$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"
cd "$ROOT"
# shellcheck source=scripts/local-env.sh
. scripts/local-env.sh
tool="$ROOT/tools/iCrm.DataGen/bin/Release/net10.0/iCrm.DataGen.dll"
if [ ! -f "$tool" ] || [ -n "$(find tools/iCrm.DataGen functions/iCrm.Core -name '*.cs' -newer "$tool" -print -quit)" ]; then
  echo "drop.sh: building tools/iCrm.DataGen (first use)" >&2
  dotnet build tools/iCrm.DataGen -c Release -nologo -clp:ErrorsOnly >&2
fi
dotnet "$tool" drop "$file" "$source" "$entity" --storage "$ICRM_LOCAL_STORAGE"

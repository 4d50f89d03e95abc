#!/usr/bin/env bash
# Runs every test of iCrm: the .NET unit, contract and integration tests (the integration tests run against the local
# stack), the local stack's own smoke test, the Bicep lint/build, and the OpenAPI lint (Redocly CLI). Starts the local stack when it is not running
# and stops it again afterwards (a stack that was already running is left running).
# Last line: "N passed, N failed". Exit code non-zero on any failure.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/local-env.sh
. scripts/local-env.sh

RESULTS="$ROOT/.artifacts/test-results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
passed=0
failed=0
step_failed=0

note() { printf '\n=== %s\n' "$*"; }

started_stack=0
if ! stack_running; then
  note "starting the local stack"
  infra/local/start.sh || { echo "test.sh: the local stack did not start" >&2; echo "0 passed, 1 failed"; exit 1; }
  started_stack=1
fi
cleanup() { [ "$started_stack" = 1 ] && infra/local/stop.sh >/dev/null 2>&1; }
trap cleanup EXIT

note "Bicep lint and build"
if infra/lint.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); step_failed=1; fi

note "local stack smoke test (node --test)"
if (cd infra/local && node --test test/ 2>&1 | tee "$RESULTS/node.txt"); then :; else step_failed=1; fi
node_pass=$(grep -E '^# pass ' "$RESULTS/node.txt" | awk '{print $3}' | tail -1)
node_fail=$(grep -E '^# fail ' "$RESULTS/node.txt" | awk '{print $3}' | tail -1)
passed=$((passed + ${node_pass:-0}))
failed=$((failed + ${node_fail:-1}))

note "build (Release, warnings are errors)"
if ! dotnet build iCrm.Functions.sln -c Release -nologo -clp:ErrorsOnly; then
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
fi

note "OpenAPI document: Redocly CLI recommended rules"
# The document comes from the built app (--openapi writes it from the functions' attributes, no host or settings needed).
if [ ! -x tools/openapi-lint/node_modules/.bin/redocly ]; then
  (cd tools/openapi-lint && npm ci --no-audit --no-fund --loglevel=error) || true
fi
if dotnet functions/iCrm.Functions/bin/Release/net10.0/iCrm.Functions.dll --openapi "$RESULTS/openapi.json" \
  && tools/openapi-lint/node_modules/.bin/redocly lint --extends=recommended "$RESULTS/openapi.json"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); step_failed=1
fi

note ".NET tests"
IcrmStorage="$ICRM_LOCAL_STORAGE" IcrmCosmos="$ICRM_LOCAL_COSMOS" \
  dotnet test iCrm.Functions.sln -c Release --no-build -nologo --logger trx --results-directory "$RESULTS" \
  || step_failed=1

trx_count=0
for trx in "$RESULTS"/*.trx; do
  [ -f "$trx" ] || continue
  trx_count=$((trx_count + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(echo "$counters" | grep -o 'passed="[0-9]*"' | grep -o '[0-9]*')
  f=$(echo "$counters" | grep -o ' failed="[0-9]*"' | grep -o '[0-9]*')
  e=$(echo "$counters" | grep -o 'error="[0-9]*"' | grep -o '[0-9]*')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0}))
done
if [ "$trx_count" -lt 4 ]; then
  echo "test.sh: expected a result file per test project, found $trx_count" >&2
  failed=$((failed + 1))
fi
if [ "$step_failed" = 1 ] && [ "$failed" = 0 ]; then
  failed=1
fi

cleanup
trap - EXIT
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

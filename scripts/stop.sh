#!/usr/bin/env bash
# Stops what scripts/run-local.sh started: the app (only the pid it recorded) and the local Azure stack.
#   scripts/stop.sh [--app-only]
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pidfile="$ROOT/.local/app.pid"
if [ -f "$pidfile" ]; then
  pid="$(cat "$pidfile")"
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'iCrm.Functions'; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
    [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
    echo "stopped the app (pid $pid)"
  fi
  rm -f "$pidfile"
fi
[ "${1:-}" = "--app-only" ] || "$ROOT/infra/local/stop.sh"

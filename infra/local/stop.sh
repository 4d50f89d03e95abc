#!/usr/bin/env bash
# Stops the local Azure stand-ins started by start.sh. Kills only the pids named in .data/*.pid, and only
# when that pid still runs our command (checked in /proc/PID/cmdline), then removes the pid files.
# Stopping when nothing runs is a success.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="$HERE/.data"

stop_one() {
  local name="$1" pidfile="$2" marker="$3" pid
  if [ ! -f "$pidfile" ]; then
    echo "infra/local: $name not running"
    return 0
  fi
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -d "/proc/$pid" ] || break
      sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "infra/local: stopped $name (pid $pid)"
  else
    echo "infra/local: $name not running (stale pid file removed)"
  fi
  rm -f "$pidfile"
}

stop_one "Cosmos wrapper" "$DATA/cosmos.pid" "$HERE/cosmos-server.mjs"
stop_one "Azurite" "$DATA/azurite.pid" "$HERE/node_modules/.bin/azurite"
rm -f "$DATA/cosmos.port" "$DATA/azurite.ports"

#!/usr/bin/env bash
# Stop the server started by start.sh (its whole process group). Idempotent.
set -euo pipefail

MW_DIR=${MW_DIR:-/tmp/helpline-mw}
pidfile="$MW_DIR/php-server.pid"

[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null; then
    # start.sh ran php under setsid, so pid is also the process-group id.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
fi
rm -f "$pidfile"

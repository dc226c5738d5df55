#!/usr/bin/env bash
# A MongoDB-wire test server (SecantusDB, from requirements-dev.txt) on loopback; data in a temporary folder.
#   scripts/mongo-test-server.sh start [PORT]   prints mongodb://127.0.0.1:PORT once it answers (exit 1 if not)
#   scripts/mongo-test-server.sh stop           stops it and removes its data
# Test-only: SecantusDB is GPL-2.0 and beta. Production needs a real MongoDB replica set (see docs/operations.md).
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${FACEREC_MONGO_STATE:-${TMPDIR:-/tmp}/facerec-mongo-test}
case "${1:-}" in
  start)
    PORT=${2:-$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
    rm -rf "$STATE" && mkdir -p "$STATE/data"
    .venv/bin/secantusd-py --host 127.0.0.1 --port "$PORT" --storage-path "$STATE/data" >"$STATE/server.log" 2>&1 &
    echo $! >"$STATE/pid"
    if .venv/bin/python - "$PORT" <<'PYEOF'
import sys, pymongo
try:
    pymongo.MongoClient(f"mongodb://127.0.0.1:{sys.argv[1]}", serverSelectionTimeoutMS=30000).admin.command("ping")
except pymongo.errors.PyMongoError as exc:
    sys.exit(f"SecantusDB did not answer: {exc}")
PYEOF
    then
      echo "mongodb://127.0.0.1:$PORT"
    else
      tail -5 "$STATE/server.log" >&2 || true
      kill "$(cat "$STATE/pid")" 2>/dev/null || true
      exit 1
    fi
    ;;
  stop)
    if [ -f "$STATE/pid" ]; then
      PID=$(cat "$STATE/pid")
      kill "$PID" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$PID" 2>/dev/null || true
    fi
    rm -rf "$STATE"
    ;;
  *)
    echo "usage: $0 start [PORT] | stop" >&2
    exit 2
    ;;
esac

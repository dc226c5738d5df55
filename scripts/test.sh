#!/usr/bin/env bash
# The whole test suite: lint, types, migrations check, then pytest on SQLite, on PostgreSQL whenever one answers
# at $POSTGRES_URL (CI always has one), and on MongoDB (a SecantusDB test server started here); last the
# schemathesis fuzz of the API's own schema (scripts/fuzz.sh, about 2 minutes).
#
# The face engine runs on one thread, so one pytest keeps one core busy: the stores run in two lanes side by
# side (MongoDB then the fuzz; SQLite then PostgreSQL), each lane's lines prefixed with its name, and a summary
# of every run at the end. TEST_LANES=1 runs everything one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh dev
PY=.venv/bin/python
export SECRET_KEY=${SECRET_KEY:-test-only-secret-key}
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/facerec}
LOGS=$(mktemp -d)
# Its own state folder, so two test runs on one machine do not stop each other's server.
export FACEREC_MONGO_STATE=${FACEREC_MONGO_STATE:-$LOGS/mongo}

# A MongoDB-wire test server for the whole run: the MongoDB suite, and import_facerec's tests on every store.
MONGO_URL=""
if MONGO_URL=$(scripts/mongo-test-server.sh start); then
  export FACEREC_TEST_MONGO_URL=$MONGO_URL
else
  echo "The MongoDB test server did not start; the MongoDB run will be skipped." >&2
  MONGO_URL=""
fi
cleanup() {
  if [ -n "$MONGO_URL" ]; then scripts/mongo-test-server.sh stop || true; fi
  rm -rf "$LOGS"
}
trap cleanup EXIT

.venv/bin/ruff check .
.venv/bin/mypy  # mypy.ini: django-stubs and djangorestframework-stubs; strict for the services and recognition
DATABASE_URL=sqlite:///:memory: $PY manage.py makemigrations --check --dry-run >/dev/null
if [ -n "$MONGO_URL" ]; then
  DATABASE_URL=$MONGO_URL/facerec_migrations_check $PY manage.py makemigrations --check --dry-run >/dev/null
fi

POSTGRES=""
if $PY - "$POSTGRES_URL" <<'PYEOF'
import sys, psycopg, urllib.parse
url = urllib.parse.urlparse(sys.argv[1])
try:
    psycopg.connect(host=url.hostname, port=url.port or 5432, user=url.username, dbname="postgres", connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable ({exc}); skipping the PostgreSQL run.")
    sys.exit(1)
PYEOF
then
  scripts/install-pgvector.sh
  POSTGRES=$POSTGRES_URL
fi

# step NAME COMMAND…: run one step, its output prefixed with NAME and kept in $LOGS/NAME.log; record its status.
step() {
  local name=$1
  shift
  echo "== $name: $*"
  set +e
  "$@" 2>&1 | tee "$LOGS/$name.log" | sed -u "s/^/[$name] /"
  echo "${PIPESTATUS[0]}" >"$LOGS/$name.status"
  set -e
}

# The lanes are balanced by measured time (fresh clone, 2026-12-02): MongoDB's run is the longest (16 min), so
# it shares a lane with the fuzz (3 min); SQLite's (8 min) and PostgreSQL's (10 min) share the other.
lane_mongo_fuzz() {
  if [ -n "$MONGO_URL" ]; then
    step mongodb env DATABASE_URL=$MONGO_URL/facerec $PY -m pytest -p no:cacheprovider "$@"
  else
    echo "== MongoDB run SKIPPED: the SecantusDB test server could not start (see above)."
  fi
  step fuzz scripts/fuzz.sh
}

lane_sqlite_postgres() {
  step sqlite env -u DATABASE_URL $PY -m pytest -p no:cacheprovider "$@"
  if [ -n "$POSTGRES" ]; then
    step postgresql env DATABASE_URL=$POSTGRES $PY -m pytest -p no:cacheprovider "$@"
  fi
}

if [ "${TEST_LANES:-2}" = 1 ]; then
  lane_sqlite_postgres "$@"
  lane_mongo_fuzz "$@"
else
  lane_mongo_fuzz "$@" &
  first=$!
  lane_sqlite_postgres "$@" &
  second=$!
  wait "$first" "$second"
fi

echo "== summary"
failed=0
for name in sqlite postgresql mongodb fuzz; do
  [ -f "$LOGS/$name.status" ] || continue
  status=$(cat "$LOGS/$name.status")
  last=$(grep -E "passed|failed|error|requests" "$LOGS/$name.log" | tail -1 || true)
  if [ "$status" = 0 ]; then
    echo "ok     $name: $last"
  else
    failed=1
    echo "FAILED $name (exit $status): $last"
    sed -n '/short test summary info\|FAILURES\|Failures:/,$p' "$LOGS/$name.log" | tail -60 | sed "s/^/[$name] /"
  fi
done
exit "$failed"

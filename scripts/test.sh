#!/usr/bin/env bash
# The whole test suite: lint, migrations check, then pytest on SQLite, on PostgreSQL whenever one answers
# at $POSTGRES_URL (CI always has one), and on MongoDB (a SecantusDB test server started here); last the
# schemathesis fuzz of the API's own schema (scripts/fuzz.sh, about 2 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh dev
PY=.venv/bin/python
export SECRET_KEY=${SECRET_KEY:-test-only-secret-key}
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/facerec}

# A MongoDB-wire test server for the whole run: the MongoDB suite, and import_facerec's tests on every store.
MONGO_URL=""
if MONGO_URL=$(scripts/mongo-test-server.sh start); then
  export FACEREC_TEST_MONGO_URL=$MONGO_URL
  trap 'scripts/mongo-test-server.sh stop' EXIT
else
  echo "The MongoDB test server did not start; the MongoDB run will be skipped." >&2
  MONGO_URL=""
fi

.venv/bin/ruff check .
DATABASE_URL=sqlite:///:memory: $PY manage.py makemigrations --check --dry-run >/dev/null
if [ -n "$MONGO_URL" ]; then
  DATABASE_URL=$MONGO_URL/facerec_migrations_check $PY manage.py makemigrations --check --dry-run >/dev/null
fi

echo "== tests on SQLite"
env -u DATABASE_URL $PY -m pytest "$@"

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
  echo "== tests on PostgreSQL ($POSTGRES_URL)"
  DATABASE_URL=$POSTGRES_URL $PY -m pytest "$@"
fi

if [ -n "$MONGO_URL" ]; then
  echo "== tests on MongoDB ($MONGO_URL, SecantusDB)"
  DATABASE_URL=$MONGO_URL/facerec $PY -m pytest "$@"
else
  echo "== MongoDB run SKIPPED: the SecantusDB test server could not start (see above)."
fi

echo "== schemathesis against /api/schema/ (superuser token, kiosk key)"
scripts/fuzz.sh

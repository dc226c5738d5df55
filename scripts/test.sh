#!/usr/bin/env bash
# The whole test suite: lint, migrations check, then pytest on SQLite, and again on
# PostgreSQL whenever one answers at $POSTGRES_URL (CI always has one).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh dev
PY=.venv/bin/python
export SECRET_KEY=${SECRET_KEY:-test-only-secret-key}
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/facerec}

.venv/bin/ruff check .
DATABASE_URL=sqlite:///:memory: $PY manage.py makemigrations --check --dry-run >/dev/null

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

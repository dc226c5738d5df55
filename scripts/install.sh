#!/usr/bin/env bash
# Create .venv, install FaceRec's pinned dependencies (add "dev" for tests, lint and Chromium) and the face model weights.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "dev" ]; then
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt
  scripts/install-chromium.sh  # the browser tests' Chromium (Debian's package)
else
  .venv/bin/python -m pip install --quiet -r requirements.txt
fi
scripts/install-models.sh

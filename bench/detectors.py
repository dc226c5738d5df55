"""Detectors on lfw-dev: faces missed, which face is chosen, time against HOG in the same run, 1:1 accuracy, TPIR.

Run: .venv/bin/python bench/detectors.py [--lfw /work/shared/lfw-dev] [--limit N] [--draws 10]
Each photo is decoded as faces.analyse decodes it (JPEG draft scaling to FACEREC_DETECT_MAX_SIDE), then every
configuration detects in it; its first face (the engine's order) is embedded with the configured model
(MobileFaceNet by default, O-Net seeded from the detection's eye landmarks). Configurations:

- hog: the engine with FACEREC_DETECTOR=hog (HOG, HOG at twice the resolution, then dlib's CNN), dlib's 5 landmarks;
- blazeface: the engine with FACEREC_DETECTOR=blazeface asked for the largest face (BlazeFace's short range,
  dlib's 5 landmarks in its box, HOG and CNN when it finds nothing), the largest box first; "blazeface, every
  face": the same engine asked for every face (the full-range model first, then HOG and CNN), what identify runs;
- "+ best score": the same boxes, the best-scoring one chosen instead of the largest;
- "keypoints only": BlazeFace's own eye and nose keypoints seed O-Net, no dlib predictor (no fallback either).

Every face: for the two paths that look for every face (hog, "blazeface, every face"), the faces each finds on
lfw-dev (LFW photos show other people behind the subject) and how many of HOG's it misses.

Times are the detection step alone (landmarks and fallback included), the median per photo, as a ratio to HOG's
median in the same run; then the same on ../faces (photos up to 1,500 px, decoded to 640 px). Accuracy: the
threshold chosen on the other folds of pairs.csv (pairs with a photo without a face count as "different").
TPIR at FPIR 1 %: galleries of N people from one half of the people, strangers from the same half, the threshold
the one that lets 1 % of those strangers through (evaluate's "TPIR @FPIR 1%" column), both halves averaged.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import FACES_DIR, REPO, setup  # noqa: E402

LFW_DIR = Path(os.environ.get("FACEREC_LFW_DIR", REPO.parent / "shared" / "lfw-dev"))


def overlap(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / max(1e-9, a[2] * a[3] + b[2] * b[3] - inter)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lfw", type=Path, default=LFW_DIR)
    parser.add_argument("--limit", type=int, help="Only the first N photos (by name), for a quick look.")
    parser.add_argument("--draws", type=int, default=10, help="Random galleries per size for TPIR.")
    parser.add_argument("--small", type=int, default=200,
                        help="Photos (every k-th) pasted small into a 640 px frame, to see how small a face is found.")
    parser.add_argument("--only-small", action="store_true", help="Only the small-face table.")
    args = parser.parse_args()
    setup()
    import numpy as np

    from entries import conf
    from entries.recognition import blazeface, engine, evaluation, images

    def engine_for(detector):
        return engine.get_engine(conf.get("MODEL"), conf.get("DETECT_MAX_SIDE"), conf.get("DETECT_UPSAMPLE"),
                                 conf.get("MODELS_DIR"), conf.get("DETECT_FALLBACK_MAX_SIDE"), detector)

    hog, light = engine_for("hog"), engine_for("blazeface")

    def largest_face(eng):
        return lambda rgb: eng._detect(rgb, all_faces=False)

    def every_face(eng):
        return lambda rgb: eng._detect(rgb, all_faces=True)

    def best_score(eng, variant):
        def detect(rgb):
            found = blazeface.get_detector(conf.get("MODELS_DIR"), variant).detect(rgb)
            if not found:
                return eng._dlib_detect(rgb)
            best = max(found, key=lambda f: f.score)
            return [d for d in [eng._landmarked(rgb, best.box)] if engine._usable(d, rgb.shape)]
        return detect

    def keypoints_only(eng):
        def detect(rgb):
            out = []
            for f in sorted(eng._blazeface.detect(rgb), key=lambda f: f.box[2] * f.box[3], reverse=True):
                left, right, nose = f.keypoints[0], f.keypoints[1], f.keypoints[2]
                box = tuple(round(v) for v in f.box)
                out.append(engine.Detection(box, np.array([right, right, left, left, nose], np.float32)))
            return [d for d in out if engine._usable(d, rgb.shape)]
        return detect

    configs = {
        "hog": hog._detect,
        "blazeface": largest_face(light),
        "blazeface + best score": best_score(light, "short"),
        "blazeface, keypoints only": keypoints_only(light),
        "blazeface, every face (full range)": every_face(light),
        "full range + best score": best_score(light, "full"),
    }
    every = ("hog", "blazeface, every face (full range)")
    pairs = evaluation.read_pairs(args.lfw / "pairs.csv")
    ids = evaluation.read_identities(args.lfw / "identities.csv")
    names = sorted(set(ids) | {n for a, b, *_ in pairs for n in (a, b)})[:args.limit]
    for eng in (hog, light):  # warm up
        eng._detect(np.zeros((64, 64, 3), np.uint8))
    small_detectors = {"hog": hog._dlib_detect, "short range alone": light._blazeface.detect,
                       "full range alone": light._blazeface_all.detect,
                       "blazeface, every face (full range, then HOG)": every_face(light)}
    if args.only_small:
        return small_faces(args, names, small_detectors)
    results = {label: {"seconds": [], "vectors": {}, "missed": [], "fallback": 0, "boxes": {}, "all": {}}
               for label in configs}
    embedded_by_landmarks: dict[bytes, np.ndarray] = {}
    for done, name in enumerate(names, 1):
        photo = images.decode((args.lfw / name).read_bytes(), keep_side=conf.get("DETECT_MAX_SIDE"))
        rgb = engine._rgb(photo.rgb)
        for label, detect in configs.items():
            start = time.perf_counter()
            detections = detect(rgb)
            results[label]["seconds"].append(time.perf_counter() - start)
            if label in every:
                results[label]["all"][name] = [d.box for d in detections]
            if not detections:
                results[label]["missed"].append(name)
                continue
            chosen = detections[0]
            results[label]["boxes"][name] = chosen.box
            key = chosen.landmarks.tobytes() + bytes(str(chosen.box), "ascii")
            if key not in embedded_by_landmarks:
                faces = hog.embed(rgb, [chosen])
                embedded_by_landmarks[key] = faces[0].embedding if faces else None
            if embedded_by_landmarks[key] is not None:
                results[label]["vectors"][name] = embedded_by_landmarks[key]
            else:
                results[label]["missed"].append(name)
        if done % 500 == 0:
            print(f"{done}/{len(names)} photos", file=sys.stderr, flush=True)

    hog_median = float(np.median(results["hog"]["seconds"]))
    hog_boxes = results["hog"]["boxes"]
    halves = evaluation.split_people(ids)
    print(f"lfw-dev: {len(names)} photos, model {conf.get('MODEL')}; HOG's median detection "
          f"{hog_median * 1000:.1f} ms per photo\n")
    print("| detector | no face | another face than HOG's | time / HOG (median) | 1:1 accuracy (± sd) "
          "| TPIR @FPIR 1 %, N=100 | N=1000 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, result in results.items():
        report = evaluation.score_pairs([p for p in pairs if {p[0], p[1]} <= set(names)],
                                        evaluation.Embedded(vectors=result["vectors"]))
        _, accuracies = report.cross_validated()
        other = sum(1 for n, box in result["boxes"].items() if n in hog_boxes and overlap(box, hog_boxes[n]) < 0.3)
        tpirs = []
        for size in (100, 1000):
            values = []
            for half in halves:
                photos = evaluation.photos_by_person(ids, result["vectors"], half)
                if size < len(photos):
                    t = evaluation.simulate(photos, result["vectors"], size, draws=args.draws, seed=size)
                    values.append(t.tpir(t.threshold_at_fpir(0.01)))
            tpirs.append(f"{np.mean(values):.3f}" if values else "n/a")
        ratio = float(np.median(result["seconds"])) / hog_median
        print(f"| {label} | {len(result['missed'])} | {other} | {ratio:.2f} | {np.mean(accuracies):.2%} ± "
              f"{np.std(accuracies):.2%} | {tpirs[0]} | {tpirs[1]} |")
    for label, result in results.items():
        if result["missed"]:
            print(f"{label}: no face in {', '.join(result['missed'][:8])}{' …' if len(result['missed']) > 8 else ''}")
    for label, result in results.items():
        other = [n for n, box in result["boxes"].items() if n in hog_boxes and overlap(box, hog_boxes[n]) < 0.3]
        if other:
            print(f"{label}: another face than HOG's in {', '.join(other[:6])}{' …' if len(other) > 6 else ''}")

    hog_all = results["hog"]["all"]
    print("\n| looking for every face (lfw-dev) | faces found | of HOG's, missed | found where HOG found none near |")
    print("| --- | --- | --- | --- |")
    for label in every:
        found_all = results[label]["all"]
        missed = sum(1 for n, boxes in hog_all.items() for box in boxes
                     if not any(overlap(box, other) > 0.3 for other in found_all[n]))
        extra = sum(1 for n, boxes in found_all.items() for box in boxes
                    if not any(overlap(box, other) > 0.3 for other in hog_all[n]))
        print(f"| {label} | {sum(map(len, found_all.values()))} | {missed} | {extra} |")

    print(f"\n../faces ({FACES_DIR.name}): detection time per photo decoded to {conf.get('DETECT_MAX_SIDE')} px "
          "(median of 3 runs each), as a ratio to HOG's")
    photos = [images.decode(path.read_bytes(), keep_side=conf.get("DETECT_MAX_SIDE"))
              for path in sorted(FACES_DIR.glob("*.jpg"))]
    timings: dict[str, list[float]] = {label: [] for label in configs}
    found: dict[str, int] = dict.fromkeys(configs, 0)
    faces_found: dict[str, int] = dict.fromkeys(configs, 0)
    for photo in photos:
        rgb = engine._rgb(photo.rgb)
        for label, detect in configs.items():
            runs = []
            for _ in range(3):
                start = time.perf_counter()
                detections = detect(rgb)
                runs.append(time.perf_counter() - start)
            timings[label].append(float(np.median(runs)))
            found[label] += bool(detections)
            faces_found[label] += len(detections)
    base = float(np.median(timings["hog"]))
    print(f"| detector | photos with a face (of {len(photos)}) | faces | time / HOG (median; HOG "
          f"{base * 1000:.1f} ms) |")
    print("| --- | --- | --- | --- |")
    for label in configs:
        print(f"| {label} | {found[label]} | {faces_found[label]} | {float(np.median(timings[label])) / base:.2f} |")
    small_faces(args, names, small_detectors)


def small_faces(args, names, detectors):
    """Share of faces found when an LFW photo (its face about 40 % of its side) is pasted small, somewhere in a
    640 px grey frame: how a face far from the camera fares; then the same beside a near face (another LFW photo,
    its face 25 % of the side, in the top left corner), as in a group photo, where HOG's second pass at twice the
    resolution never runs (it only runs when the first finds nothing) and neither does any fallback."""
    for near in (False, True):
        _small_faces(args, names, detectors, near)


def _small_faces(args, names, detectors, near):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    sample = names[:: max(1, len(names) // args.small)][: args.small]
    near_side = round(640 * 0.25 / 0.4)
    fractions = tuple(f for f in (0.05, 0.07, 0.10, 0.15, 0.25) if not near or round(640 * f / 0.4) <= 640 - near_side)
    found = {label: dict.fromkeys(fractions, 0) for label in detectors}
    for number, name in enumerate(sample):
        photo = Image.open(args.lfw / name).convert("RGB")
        for fraction in fractions:
            side = round(640 * fraction / 0.4)
            frame = Image.new("RGB", (640, 640), (118, 118, 118))
            if near:  # the far face in the free bottom-right part of the frame
                other = Image.open(args.lfw / sample[(number + 1) % len(sample)]).convert("RGB")
                frame.paste(other.resize((near_side, near_side), Image.Resampling.LANCZOS), (0, 0))
                x, y = (int(v) for v in rng.integers(near_side, 640 - side + 1, 2))
            else:
                x, y = (int(v) for v in rng.integers(0, 640 - side, 2))
            frame.paste(photo.resize((side, side), Image.Resampling.LANCZOS), (x, y))
            rgb = np.asarray(frame)
            for label, detect in detectors.items():
                for face in detect(rgb):
                    fx, fy, fw, fh = face.box
                    if x <= fx + fw / 2 <= x + side and y <= fy + fh / 2 <= y + side:
                        found[label][fraction] += 1
                        break
    where = " beside a near face (25 % of the side)" if near else ""
    print(f"\nsmall faces: {len(sample)} lfw-dev photos pasted into a 640 px frame{where}, the face this share of "
          "its side")
    print("| detector | " + " | ".join(f"{f:.0%}" for f in fractions) + " |")
    print("| --- |" + " --- |" * len(fractions))
    for label, counts in found.items():
        print(f"| {label} | " + " | ".join(f"{counts[f] / len(sample):.0%}" for f in fractions) + " |")


if __name__ == "__main__":
    main()

"""Who answered a liveness challenge: every identity frame on its own (before) against their mean embedding (now).

Run: .venv/bin/python bench/kiosk_fusion.py [--enrolled 1000] [--known 150] [--strangers 150] [--seed 1]

SYNTHETIC answers from real photos: one photo per person of ../shared/lfw-dev (FACEREC_LFW_DIR) is enrolled;
a known person answers with a bona fide sequence (bench/sequences.py) re-rendered from another photo of
theirs, a stranger (not enrolled) from one of their own. As attendance.services.clock_challenge does, the first,
the most frontal of the middle third and the last frame are identified, at the shipped thresholds for the gallery
(calibration.json, learned on all of lfw-dev: these people are calibration people, so the absolute rates lean
optimistic; both rules meet the same thresholds, the same frames and the same people):
- before: each frame's best match at identify's threshold, the same employee in all three;
- now: the frames' mean embedding's best match at identify's threshold, each frame that employee at verify's.
TPIR: known people clocked as themselves. FPIR: strangers clocked as anyone. "first frame" is one photo's rule.
"""

import argparse
import csv
import itertools
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.append(str(REPO / "bench"))
LFW_DIR = Path(os.environ.get("FACEREC_LFW_DIR", REPO.parent / "shared" / "lfw-dev"))


def photos_by_person() -> dict[str, list[Path]]:
    people: dict[str, list[Path]] = {}
    with (LFW_DIR / "identities.csv").open() as rows:
        for row in csv.DictReader(rows):
            people.setdefault(row["person"], []).append(LFW_DIR / row["image"])
    return people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--enrolled", type=int, default=1000)
    parser.add_argument("--known", type=int, default=150)
    parser.add_argument("--strangers", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerec.settings")
    import django

    django.setup()
    import sequences

    from attendance import liveness
    from attendance.services import _identity_frames
    from entries.exceptions import FaceRecError
    from entries.recognition import calibration, faces, images

    if not (LFW_DIR / "identities.csv").is_file():
        sys.exit(f"no photos in {LFW_DIR} (set FACEREC_LFW_DIR)")
    rng = np.random.default_rng(args.seed)
    people = photos_by_person()
    names = sorted(people)
    rng.shuffle(names)
    several = [n for n in names if len(people[n]) >= 2]
    enrolled = (several + [n for n in names if len(people[n]) == 1])[: args.enrolled]
    strangers = [n for n in names if n not in set(enrolled)][: args.strangers]
    known = several[: args.known]

    def embedding(data: bytes):
        found = faces.find(data, limit=1)[1]
        return found[0].embedding if found else None

    gallery, codes = [], []
    for name in enrolled:
        vector = embedding(people[name][0].read_bytes())
        if vector is not None:
            gallery.append(vector)
            codes.append(name)
    matrix = np.stack(gallery)
    model = faces.get_engine().model_name
    identify_at = calibration.identify_threshold(model, len(codes))
    verify_at = calibration.verify_threshold(model)
    orders = list(itertools.permutations(liveness.STEPS, 2))

    def answer_frames(path: Path) -> list[np.ndarray] | None:
        rgb = sequences.resized(images.decode(path.read_bytes()).rgb)
        try:
            points = sequences.face_points(rgb)
        except ValueError:
            return None
        steps = orders[rng.integers(len(orders))]
        encoded = [(t, sequences.jpeg(frame)) for t, frame in
                   sequences.bona_fide(rgb, steps, seed=int(rng.integers(1 << 31)), points=points)]
        measures = [liveness.measure(data, t) for t, data in encoded]
        picked = [embedding(encoded[n][1]) for n in _identity_frames(measures)]
        return None if any(p is None for p in picked) else picked

    def decisions(frames: list[np.ndarray]) -> dict[str, str]:
        scores = matrix @ np.stack(frames).T  # gallery x frames
        best = scores.argmax(0)
        single = [codes[b] if scores[b, f] >= identify_at else "" for f, b in enumerate(best)]
        mean = matrix @ (np.mean(frames, axis=0) / np.linalg.norm(np.mean(frames, axis=0)))
        found = int(mean.argmax())
        fused = codes[found] if mean[found] >= identify_at and scores[found].min() >= verify_at else ""
        return {"first frame": single[0], "before: every frame": single[0] if len(set(single)) == 1 else "",
                "now: mean embedding": fused}

    rules = ("first frame", "before: every frame", "now: mean embedding")
    hits = {rule: 0 for rule in rules}
    false = {rule: 0 for rule in rules}
    measured = {"known": 0, "strangers": 0}
    skipped = 0
    for group, name, photo in [*(("known", n, people[n][1]) for n in known),
                               *(("strangers", n, people[n][0]) for n in strangers)]:
        try:
            frames = answer_frames(photo)
        except FaceRecError:
            frames = None
        if frames is None:
            skipped += 1
            continue
        measured[group] += 1
        for rule, code in decisions(frames).items():
            if group == "known":
                hits[rule] += code == name
            else:
                false[rule] += code != ""
    measured_known, measured_strangers = measured["known"], measured["strangers"]
    print(f"SYNTHETIC answers (bench/sequences.py) from {LFW_DIR.name}: {len(codes)} enrolled, {measured_known} known "
          f"and {measured_strangers} strangers answering ({skipped} photos without a meshable face skipped), "
          f"--seed {args.seed}; identify at {identify_at:.4f}, verify at {verify_at:.4f} ({model})")
    print("| rule | TPIR | FPIR |\n| --- | --- | --- |")
    for rule in rules:
        print(f"| {rule} | {hits[rule] / max(measured_known, 1):.3f} ({hits[rule]}/{measured_known}) | "
              f"{100 * false[rule] / max(measured_strangers, 1):.1f} % ({false[rule]}/{measured_strangers}) |")


if __name__ == "__main__":
    main()

"""The kiosk's liveness challenge on synthetic sequences: BPCER and APCER per attack (ISO/IEC 30107-3 names).

Run: .venv/bin/python bench/liveness.py [--people 60] [--seed 1] [--split report|tuning|all]

Every figure here is SYNTHETIC: one real photo per person from ../shared/lfw-dev (FACEREC_LFW_DIR), re-rendered
by bench/sequences.py as a live answer to a random two-step challenge (bona fide) and as four presentation
attacks: (a) flat, a print or screen swung as asked; (b) cylinder, the print bent round a cylinder and turned;
(c) other_order, a live answer to another challenge; (e) still, the photo held still. Every frame is JPEG-encoded
as the kiosk sends it, then measured (detect, mesh) and judged by attendance.liveness.decide.

People are split by a fixed hash of their name: the thresholds in attendance/liveness.py were tuned on the
"tuning" half only; the default report is on the other, held-apart half.
BPCER: bona fide sequences refused. APCER: attack sequences passed, per attack.
"""

import argparse
import csv
import hashlib
import itertools
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.append(str(REPO / "bench"))
LFW_DIR = Path(os.environ.get("FACEREC_LFW_DIR", REPO.parent / "shared" / "lfw-dev"))
KINDS = (("bona fide", None), ("(a) flat", "flat"), ("(b) cylinder", "cylinder"),
         ("(c) other_order", "other_order"), ("(e) still", "still"))


def split_of(person: str) -> str:
    return "tuning" if hashlib.sha256(person.encode()).digest()[0] % 2 == 0 else "report"


def people(split: str) -> list[tuple[str, Path]]:
    chosen: dict[str, Path] = {}
    with (LFW_DIR / "identities.csv").open() as rows:
        for row in csv.DictReader(rows):
            if row["person"] not in chosen and (split == "all" or split_of(row["person"]) == split):
                chosen[row["person"]] = LFW_DIR / row["image"]
    return sorted(chosen.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--split", choices=("report", "tuning", "all"), default="report")
    parser.add_argument("--verbose", action="store_true", help="one line per sequence")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerec.settings")
    import django

    django.setup()
    import sequences

    from attendance import liveness
    from entries.recognition import images

    if not (LFW_DIR / "identities.csv").is_file():
        sys.exit(f"no photos in {LFW_DIR} (set FACEREC_LFW_DIR)")
    rng = np.random.default_rng(args.seed)
    orders = list(itertools.permutations(liveness.STEPS, 2))  # every challenge the kiosk asks
    outcomes: dict[str, Counter] = defaultdict(Counter)
    measure_seconds, frames_measured, used, skipped = 0.0, 0, 0, 0
    for person, path in people(args.split):
        if used >= args.people:
            break
        rgb = sequences.resized(images.decode(path.read_bytes()).rgb)
        try:
            points = sequences.face_points(rgb)
        except ValueError:
            skipped += 1
            continue
        used += 1
        steps = orders[rng.integers(len(orders))]
        seed = int(rng.integers(1 << 31))
        for label, attack in KINDS:
            if attack is None:
                frames = sequences.bona_fide(rgb, steps, seed=seed, points=points)
            elif attack in ("cylinder", "other_order"):
                frames = sequences.ATTACKS[attack](rgb, steps, seed=seed, points=points)
            else:
                frames = sequences.ATTACKS[attack](rgb, steps, seed=seed)
            encoded = [(t, sequences.jpeg(frame)) for t, frame in frames]
            start = time.perf_counter()
            measures = [liveness.measure(data, t) for t, data in encoded]
            measure_seconds += time.perf_counter() - start
            frames_measured += len(measures)
            verdict = liveness.decide(measures, steps)
            outcomes[label]["passed" if verdict.passed else verdict.code] += 1
            if args.verbose:
                numbers = {k: round(v, 3) if isinstance(v, float) else v for k, v in verdict.details.items()}
                print(f"{person:30} {label:16} {verdict.code:14} {numbers}", flush=True)
    print(f"SYNTHETIC sequences (bench/sequences.py) from {used} people of the {args.split!r} split of {LFW_DIR.name}"
          f" ({skipped} photos without a meshable face skipped), --seed {args.seed}")
    print(f"{'presentation':18} {'sequences':>9}  {'error':>22}  outcomes")
    for label, attack in KINDS:
        counts = outcomes[label]
        total = sum(counts.values())
        wrong = total - counts["passed"] if attack is None else counts["passed"]
        name = "BPCER" if attack is None else "APCER"
        rate = f"{name} {100 * wrong / max(total, 1):5.1f} % ({wrong}/{total})"
        print(f"{label:18} {total:9}  {rate:>22}  {dict(sorted(counts.items()))}")
    print(f"measure(): {1000 * measure_seconds / max(frames_measured, 1):.1f} ms per frame "
          f"(decode, dlib detection, face mesh and eyelids; {frames_measured} frames, one core)")


if __name__ == "__main__":
    main()

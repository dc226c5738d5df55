"""The duplicate-face guard on lfw-dev: genuine newcomers refused or flagged, real duplicates caught.

Run: .venv/bin/python manage.py evaluate --pairs ../shared/lfw-dev/pairs.csv --cache data/lfw-embeddings.npz
     .venv/bin/python bench/duplicates.py [--cache data/lfw-embeddings.npz] [--sizes 100,1000,max]

As `evaluate` measures identify: the people are split in two halves (evaluation.split_people); the
thresholds are calibrated on one half (its FPIR table, calibration.fpir_table) and measured on the
other, both ways. warn = identify's threshold (FACEREC_IDENTIFY_FPIR), refuse = the guard's own
(FACEREC_DUPLICATE_FPIR, never below warn), both at the gallery size N.

- Genuine newcomers: every photo of a measured person against a random gallery of N *other* measured
  people (their first photo each): refused when the best similarity >= refuse, flagged when it is in
  [warn, refuse). Counted exactly over all such galleries (hypergeometric, as fpir_table), not sampled.
- Real duplicates: a measured person with two or more photos, enrolled with the first, registers again
  with each other photo; the gallery is them plus N - 1 others: refused, flagged, or missed (best < warn).
  The best match may be someone else at a small N only by chance; refusing it still stops the duplicate.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
LFW_DIR = Path(os.environ.get("FACEREC_LFW_DIR", REPO.parent / "shared" / "lfw-dev"))


def setup():
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerec.settings")
    import django

    django.setup()  # the FACEREC settings (the two target rates); no database is used


def load(cache: Path) -> tuple[dict[str, np.ndarray], str]:
    stored = np.load(cache, allow_pickle=False)
    names = json.loads(str(stored["meta"]))["names"]
    return dict(zip(names, stored["vectors"], strict=True)), str(stored["model"])


class Chance:
    """P(a random `size` of n people holds one at or above t), from one probe's similarities to all n."""

    def __init__(self, largest: int):
        self.log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, largest + 1)))])

    def any_at_least(self, scores: np.ndarray, thresholds: np.ndarray, size: int) -> np.ndarray:
        n = len(scores)
        free = n - (n - np.searchsorted(np.sort(scores), thresholds, side="left"))  # people below each threshold
        lf = self.log_fact
        log_none = np.where(free >= size, lf[np.maximum(free, size)] - lf[np.maximum(free - size, 0)]
                            - lf[n] + lf[n - size], -np.inf)
        return 1.0 - np.exp(log_none)


def measure(photos, vectors, thresholds_at, sizes, chance):
    """Per size: (newcomer refused, flagged, photos) and (duplicate refused, flagged, missed, photos), as sums."""
    from entries.recognition import evaluation

    people = list(photos)
    enrolment = np.stack([vectors[photos[p][0]] for p in people])
    newcomers = evaluation.probe_scores(photos, vectors)  # each photo against every other person's first
    duplicates = []  # (similarity to their own first photo, similarities to everyone else's first)
    for i, person in enumerate(people):
        others = np.ones(len(people), bool)
        others[i] = False
        for name in photos[person][1:]:
            scores = enrolment @ vectors[name]
            duplicates.append((scores[i], scores[others]))
    out = {}
    for size in sizes:
        warn, refuse = thresholds_at(size)
        grid = np.array([warn, refuse])
        p = np.array([chance.any_at_least(s, grid, size) for s in newcomers]).sum(0)
        new = (p[1], p[0] - p[1], len(newcomers))
        d = np.zeros(2)
        for own, rest in duplicates:
            d += np.where(own >= grid, 1.0, chance.any_at_least(rest, grid, size - 1))
        out[size] = (new, (d[1], d[0] - d[1], len(duplicates) - d[0], len(duplicates)), (warn, refuse))
    return out


def spread(values) -> str:
    """A threshold from both halves: one value, or the range."""
    low, high = min(values), max(values)
    return f"{low:.4f}" if round(low, 4) == round(high, 4) else f"{low:.4f}–{high:.4f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=REPO / "data" / "lfw-embeddings.npz",
                        help="embeddings of lfw-dev from `manage.py evaluate --cache` (this model's)")
    parser.add_argument("--sizes", default="100,1000,max", help="gallery sizes; max: the most a half allows")
    args = parser.parse_args()
    if not args.cache.is_file():
        sys.exit(f"no {args.cache}: run `manage.py evaluate --pairs {LFW_DIR}/pairs.csv --cache {args.cache}`")
    setup()
    from entries import conf
    from entries.recognition import calibration, evaluation

    vectors, model = load(args.cache)
    if model != conf.get("MODEL"):
        sys.exit(f"{args.cache} holds {model} embeddings; FACEREC_MODEL is {conf.get('MODEL')}")
    ids = evaluation.read_identities(LFW_DIR / "identities.csv")
    halves = evaluation.split_people(ids)
    measured = [evaluation.photos_by_person(ids, vectors, half) for half in halves[::-1]]
    largest = min(len(m) for m in measured) - 1
    sizes = [largest if s == "max" else int(s) for s in args.sizes.split(",")]
    identify_fpir, duplicate_fpir = conf.get("IDENTIFY_FPIR"), conf.get("DUPLICATE_FPIR")
    chance = Chance(max(len(m) for m in measured))
    totals: dict[int, list] = {}
    for calibrate_on, photos in zip(halves, measured, strict=True):
        table = calibration.fpir_table(evaluation.probe_scores(
            evaluation.photos_by_person(ids, vectors, calibrate_on), vectors))

        def thresholds_at(size, table=table):
            warn = min(calibration.threshold_for(table, identify_fpir, size), 0.999)
            return warn, max(warn, min(calibration.threshold_for(table, duplicate_fpir, size), 0.999))

        for size, row in measure(photos, vectors, thresholds_at, sizes, chance).items():
            totals.setdefault(size, []).append(row)

    print(f"model {model}; lfw-dev people split in halves ({len(halves[0])} / {len(halves[1])}), thresholds "
          f"calibrated on one, measured on the other, both ways; identify FPIR {identify_fpir:.1%} (warn), "
          f"duplicate FPIR {duplicate_fpir:.1%} (refuse)")
    print("| N enrolled | warn / refuse threshold | newcomers refused | newcomers flagged | newcomer photos "
          "| duplicates refused | flagged | missed | duplicate photos |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for size, rows in totals.items():
        refused, flagged, count = (sum(r[0][i] for r in rows) for i in range(3))
        d_refused, d_flagged, d_missed, d_count = (sum(r[1][i] for r in rows) for i in range(4))
        shown = " / ".join(spread([r[2][i] for r in rows]) for i in (0, 1))
        print(f"| {size:,} | {shown} | {refused / count:.2%} | {flagged / count:.2%} | {count:,} "
              f"| {d_refused / d_count:.1%} | {d_flagged / d_count:.1%} | {d_missed / d_count:.1%} | {d_count:,} |")
    shipped = [(n, calibration.identify_threshold(model, n), calibration.duplicate_threshold(model, n))
               for n in sizes]
    print("shipped thresholds (calibrated on all of lfw-dev): "
          + "; ".join(f"N {n:,}: warn {w:.4f}, refuse {r:.4f}" for n, w, r in shipped))


if __name__ == "__main__":
    main()

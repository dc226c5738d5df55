"""Identify thresholds past the calibration data: today's table extended along log N against the tail model.

Run: .venv/bin/python bench/calibration_tail.py --cache data/lfw-embeddings.npz [--seeds 5] [--draws 5]
(the cache is the one `manage.py evaluate --pairs ../shared/lfw-dev/pairs.csv --cache ...` writes.)
lfw-dev's people are split in two halves as `evaluate` does. To predict gallery size N on one half, a
calibration is learned on a random N/4 (or N/2) people of the other half, so its FPIR table ends at N/4
(N/2) and every threshold at N is an extrapolation. Each method's threshold for a target FPIR is then
measured on the held-apart half: FPIR exactly (every photo against random galleries of N of the other people,
hypergeometric, as calibration.fpir_table counts), TPIR from `evaluation.simulate` galleries. Cells are means
over both directions and --seeds calibration subsets, FPIR with its range. Columns: the table extended along
log N (before), the tail model alone (calibration.fit_tail), what ships (calibration.threshold_for: the table
within its sizes, past them the tail model but never below the table's last threshold), and the rejected
"anchored" variant (the table's last threshold plus the tail model's rise). Rows "all people" calibrate on the
whole other half, as `evaluate` does: there N <= 1,000 lies within the table. Results: docs/recognition.md.
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import REPO  # noqa: E402

LFW = REPO.parent / "shared" / "lfw-dev"
METHODS = ("table + log N", "tail model", "shipped", "anchored")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, required=True, help="evaluate's .npz of lfw-dev embeddings")
    parser.add_argument("--pairs", type=Path, default=LFW / "pairs.csv")
    parser.add_argument("--seeds", type=int, default=5, help="calibration subsets per cell and direction")
    parser.add_argument("--draws", type=int, default=5, help="simulated galleries per size for TPIR")
    parser.add_argument("--rate", type=float, help="the tail model's share of each photo's top scores "
                                                   "(default: calibration.TAIL_RATE)")
    args = parser.parse_args()

    import os

    sys.path.insert(0, str(REPO))
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerec.settings")
    import django

    django.setup()
    from entries import conf
    from entries.management.commands.evaluate import Command
    from entries.recognition import calibration, evaluation

    ids = evaluation.read_identities(args.pairs.parent / "identities.csv")
    labelled = evaluation.read_pairs(args.pairs)
    embedded = Command()._embed(conf.get("MODEL"), [n for a, b, *_ in labelled for n in (a, b)] + list(ids),
                                args.pairs.parent, 1, args.cache, 1.0)
    vectors = embedded.vectors
    halves = evaluation.split_people(ids)
    grid = list(calibration.THRESHOLD_GRID)
    results: dict = {}  # (N label, fit, target, method) -> [(fpir, tpir)]
    for calibrate_on, measure_on in (halves, halves[::-1]):
        held = evaluation.photos_by_person(ids, vectors, measure_on)
        held_scores = evaluation.probe_scores(held, vectors)
        pool = sorted(calibrate_on)
        for size in (100, 500, 1000, len(held) - 1):
            label = str(size) if size <= 1000 else "largest (1,030 / 1,054)"
            trials = evaluation.simulate(held, vectors, size, draws=args.draws, seed=size)
            picked = []  # (fit, target, method, threshold)
            for fit in (4, 2, 1):
                for seed in range(args.seeds if fit > 1 else 1):
                    if fit > 1:
                        people = np.random.default_rng(seed).choice(pool, size // fit + 1, replace=False)
                        sizes = [n for n in calibration.GALLERY_SIZES if n < size // fit] + [size // fit]
                    else:  # all of the other half, as `evaluate` calibrates: within the table up to 1,000
                        people, sizes = np.array(pool), list(calibration.GALLERY_SIZES)
                    photos = evaluation.photos_by_person(ids, vectors, set(people))
                    scores = evaluation.probe_scores(photos, vectors)
                    table = calibration.fpir_table(scores, sizes=sizes)
                    tail = calibration.fit_tail(scores, args.rate or calibration.TAIL_RATE)
                    for target in (0.01, 0.001):
                        for method, threshold in (
                                ("table + log N", calibration.threshold_for(table, target, size)),
                                ("tail model", calibration._threshold_at(calibration.tail_fpir(tail, size), grid,
                                                                         target)),
                                ("shipped", calibration.threshold_for(table, target, size, tail)),
                                ("anchored", calibration.threshold_for(table, target, sizes[-1])
                                 + calibration._threshold_at(calibration.tail_fpir(tail, size), grid, target)
                                 - calibration._threshold_at(calibration.tail_fpir(tail, sizes[-1]), grid, target)
                                 if size > sizes[-1] else calibration.threshold_for(table, target, size))):
                            picked.append((fit, target, method, min(threshold, 0.999)))
            measured = calibration.fpir_table(held_scores, sizes=[size], grid=np.array([p[3] for p in picked]))
            for (fit, target, method, threshold), fpir in zip(picked, measured["fpir"][0], strict=True):
                results.setdefault((label, fit, target, method), []).append((fpir, trials.tpir(threshold),
                                                                             threshold))
    print(f"model {conf.get('MODEL')}; halves of {len(halves[0])} / {len(halves[1])} people; {args.seeds} "
          f"calibration subsets per direction; tail rate {args.rate or calibration.TAIL_RATE}; "
          "measured FPIR mean [min–max] / TPIR mean")
    print("| N | fitted on | target FPIR | " + " | ".join(METHODS) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in METHODS) + " |")
    errors: dict = {m: [] for m in METHODS}
    for (label, fit, target, method), _ in results.items():
        if method != METHODS[0]:
            continue
        cells = []
        for m in METHODS:
            values = np.array(results[(label, fit, target, m)])
            f, t = values[:, 0], values[:, 1]
            if fit > 1:
                errors[m] += [abs(math.log10(max(v, target / 10) / target)) for v in f]
            cells.append(f"{f.mean():.2%} [{f.min():.2%}–{f.max():.2%}] / {t.mean():.3f}")
        print(f"| {label} | {f'N/{fit}' if fit > 1 else 'all'} people | {target:.1%} | " + " | ".join(cells) + " |")
    print("past the table (fitted on N/4 or N/2 people): mean |log10(measured / target)| (FPIR floored at "
          "target/10): "
          + ", ".join(f"{m} {np.mean(e):.2f}" for m, e in errors.items()))
    over = {m: np.mean([v[0] > 1.5 * k[2] for k, vs in results.items() if k[3] == m and k[1] > 1 for v in vs])
            for m in METHODS}
    print("share of runs letting through more than 1.5 × the target: "
          + ", ".join(f"{m} {v:.0%}" for m, v in over.items()))

    model = conf.get("MODEL")
    shipped = calibration.for_model(model)
    everyone = evaluation.photos_by_person(ids, vectors)
    trials = evaluation.simulate(everyone, vectors, 2000, draws=args.draws, seed=2000)
    print(f"\nshipped thresholds ({model}; before: the same table extended along log N) and TPIR at them with "
          "2,000 of all lfw-dev's people enrolled (the people the calibration was fitted on)")
    print("| target FPIR | N | before | now | TPIR at 2,000 enrolled: before / now |")
    print("| --- | --- | --- | --- | --- |")
    for target in (0.01, 0.001):
        for size in (100, 1000, 2000, 2001, 3000, 10_000):
            before = round(min(max(calibration.threshold_for(shipped["identify"], target, size),
                                   shipped["verify_threshold"]), 0.999), 4)
            now = calibration.identify_threshold(model, size, fpir=target)
            print(f"| {target:.1%} | {size:,} | {before:.4f} | {now:.4f} | "
                  f"{trials.tpir(before):.3f} / {trials.tpir(now):.3f} |")


if __name__ == "__main__":
    main()

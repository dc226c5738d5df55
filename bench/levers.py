"""Recognition levers on lfw-dev, side by side: score fusion of two models, cohort score normalisation (adaptive
s-norm) and multi-frame probes, each against the same baseline, thresholds chosen on other people.

Run (the caches are the ones `manage.py evaluate --cache` writes, one per model):
  DEBUG=1 .venv/bin/python manage.py evaluate --pairs ../shared/lfw-dev/pairs.csv --cache data/lfw-embeddings.npz
  DEBUG=1 .venv/bin/python manage.py evaluate --pairs ../shared/lfw-dev/pairs.csv --model Dlib \
      --cache data/lfw-embeddings-dlib.npz
  .venv/bin/python bench/levers.py --cache data/lfw-embeddings.npz --cache data/lfw-embeddings-dlib.npz

Protocol (as `evaluate`'s open set): one photo per enrolled person (their first by file name), every other
photo of an enrolled person a known probe (right only when found at rank 1), every photo of a person not
enrolled a stranger. A cohort of people (a stable tenth of lfw-dev by name hash, one photo each) is set apart
first for s-norm; the other people are split in two halves as `evaluate` splits them. Every row, levers or
not, uses these same halves and only photos both models embedded, so rows compare like with like. On one
half each lever learns what it learns (fusion's per-model scales; nothing else does) and the identify
threshold for FPIR 1 % at each N, counted exactly from every probe's scores to everyone else
(calibration.fpir_table, as shipped thresholds are); on the other half random galleries of N people measure
TPIR and FPIR at that threshold; both directions, cells are means (FPIR pooled over strangers).

Multi-frame rows use probes of F photos of one person as the "frames" of one kiosk attempt: known probes are
disjoint groups of F photos other than the enrolment photo, strangers the same groups of people not
enrolled, so only people with F + 1 or more photos probe (everyone is in the galleries). LFW photos of one
person are taken on different days, far more varied than consecutive kiosk frames: this measures the lever
on harder frames than the kiosk's. Their baseline row is the first frame of each group alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from entries.recognition import calibration, evaluation  # noqa: E402  (pure numpy: no Django needed)

LFW = REPO.parent / "shared" / "lfw-dev"
TARGET = 0.01


@dataclass
class Cache:
    model: str
    vectors: dict[str, np.ndarray]
    seconds: np.ndarray


def read_cache(path: Path) -> Cache:
    stored = np.load(path, allow_pickle=False)
    names = json.loads(str(stored["meta"]))["names"]
    vectors = {n: v / np.linalg.norm(v) for n, v in zip(names, stored["vectors"].astype(np.float64), strict=True)}
    return Cache(str(stored["model"]), vectors, np.asarray(stored["seconds"]))


def is_cohort(person: str, share: int) -> bool:
    """A stable 1/share of the people by name hash (another byte than evaluation.split_people's)."""
    return hashlib.sha256(person.encode()).digest()[1] % share == 0


# Probes, templates and their scores ------------------------------------------------------------

@dataclass
class Half:
    people: list[str]
    templates: dict[str, np.ndarray]  # model -> (people, d): each person's first photo
    probes: dict[str, np.ndarray]  # model -> (probes, frames, d)
    owner: np.ndarray  # probe -> person index
    own_template: np.ndarray  # probe is its owner's enrolment photo: a stranger probe only


def half(photos: dict[str, list[str]], caches: list[Cache], frames: int) -> Half:
    people = sorted(photos)
    units, owner, own = [], [], []
    for index, person in enumerate(people):
        shots = photos[person]
        if frames == 1:
            groups = [[n] for n in shots]
        else:
            rest = shots[1:]
            groups = [rest[i:i + frames] for i in range(0, len(rest) - frames + 1, frames)]
        for group in groups:
            units.append(group)
            owner.append(index)
            own.append(frames == 1 and group[0] == shots[0])
    return Half(people,
                {c.model: np.stack([c.vectors[photos[p][0]] for p in people]) for c in caches},
                {c.model: np.array([[c.vectors[n] for n in group] for group in units]) for c in caches},
                np.array(owner), np.array(own, bool))


Scorer = Callable[[Half], np.ndarray]  # a half -> (probes, people) scores, higher = more alike


def cosine(model: str, frames: str = "first") -> Scorer:
    """One model's cosine similarity; several frames fused as the mean of their embeddings ("mean"), or their
    best ("max") or mean ("avg") score, or only the first frame looked at ("first")."""
    def score(h: Half) -> np.ndarray:
        probes, gallery = h.probes[model], h.templates[model]
        if frames == "mean":
            mean = probes.mean(1)
            return (mean / np.linalg.norm(mean, axis=1, keepdims=True)) @ gallery.T
        per_frame = np.einsum("pfd,nd->pfn", probes, gallery)
        return {"first": per_frame[:, 0], "max": per_frame.max(1), "avg": per_frame.mean(1)}[frames]
    return score


def every_frame(model: str) -> Scorer:
    """Today's kiosk rule (attendance.services.clock_challenge): every frame's best match must be the same
    person, each above the one-photo threshold. Per-frame scores (probes, frames, people): measure() applies it."""
    def score(h: Half) -> np.ndarray:
        return np.einsum("pfd,nd->pfn", h.probes[model], h.templates[model])
    return score


def s_norm(model: str, cohort: np.ndarray, k: int, frames: str = "first") -> Scorer:
    """Adaptive s-norm: each score z-normalised against the mean and spread of the probe's k best cohort
    scores and of the template's, averaged. Cohort people are neither calibration nor report people."""
    def stats(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top = np.sort(vectors @ cohort.T, axis=1)[:, -k:]
        return top.mean(1), top.std(1)

    def score(h: Half) -> np.ndarray:
        probes, gallery = h.probes[model], h.templates[model]
        if frames == "mean":
            mean = probes.mean(1)
            probes = (mean / np.linalg.norm(mean, axis=1, keepdims=True))[:, None]
        g_mean, g_sd = stats(gallery)
        out = []
        for f in range(probes.shape[1]):
            p_mean, p_sd = stats(probes[:, f])
            raw = probes[:, f] @ gallery.T
            out.append(0.5 * ((raw - p_mean[:, None]) / p_sd[:, None] + (raw - g_mean[None]) / g_sd[None]))
        return out[0] if frames in ("first", "mean") else np.max(out, 0) if frames == "max" else np.mean(out, 0)
    return score


def impostors(h: Half, scores: np.ndarray) -> np.ndarray:
    mask = np.ones_like(scores, bool)
    mask[np.arange(len(scores)), h.owner] = False
    return scores[mask]


def fused(scorers: list[Scorer], how: str) -> Callable[[Half], Scorer]:
    """Fusion of per-model scores on a common scale learned on the calibration half: "z" sums each model's
    scores z-normalised by its impostor scores' mean and spread; "lr" weighs them by a logistic regression of
    genuine against impostor pairs (classes weighted equally)."""
    def learn(calibrate_on: Half) -> Scorer:
        per_model = [s(calibrate_on) for s in scorers]
        if how == "z":
            scales = [(impostors(calibrate_on, s).mean(), impostors(calibrate_on, s).std()) for s in per_model]
            weights = np.array([1 / sd for _, sd in scales])
            offset = sum(m / sd for m, sd in scales)
        else:
            rows = np.arange(len(calibrate_on.owner))
            genuine = np.column_stack([s[rows, calibrate_on.owner] for s in per_model])[~calibrate_on.own_template]
            rng = np.random.default_rng(0)
            count = impostors(calibrate_on, per_model[0]).size
            pick = rng.choice(count, min(count, 200_000), replace=False)
            impostor = np.column_stack([impostors(calibrate_on, s)[pick] for s in per_model])
            x = np.concatenate([genuine, impostor])
            y = np.concatenate([np.ones(len(genuine)), np.zeros(len(impostor))])
            w = np.concatenate([np.full(len(genuine), 0.5 / len(genuine)), np.full(len(impostor), 0.5 / len(impostor))])
            weights = np.array(calibration.fit_logistic(x, y, w)[:-1])
            offset = 0.0

        def score(h: Half) -> np.ndarray:
            return sum(w * s(h) for w, s in zip(weights, scorers, strict=True)) - offset
        return score
    return learn


# Thresholds on one half, TPIR / FPIR on the other -----------------------------------------------

def threshold(h: Half, scores: np.ndarray, sizes: list[int]) -> list[float]:
    """The identify threshold for FPIR 1 % at each size, from every probe's scores to everyone else."""
    others = [np.delete(row, own) for row, own in zip(scores, h.owner, strict=True)]
    top = np.concatenate([np.sort(o)[-50:] for o in others])
    grid = np.linspace(np.percentile(top, 1), top.max() + 1e-6, 4001)
    table = calibration.fpir_table(others, sizes=sizes, grid=grid)
    return [calibration.threshold_for(table, TARGET, size) for size in sizes]


def measure(h: Half, scores: np.ndarray, size: int, at: float, draws: int, seed: int) -> tuple:
    """Known probes found at rank 1 above `at`, strangers above `at`, over random galleries of `size` people."""
    rng = np.random.default_rng(seed)
    known = strangers = known_n = strangers_n = 0
    best_known, best_strangers = [], []
    for _ in range(draws):
        chosen = rng.choice(len(h.people), size, replace=False)
        enrolled = np.zeros(len(h.people), bool)
        enrolled[chosen] = True
        sub = scores[..., chosen]
        if sub.ndim == 3:  # every frame must find the same person: scored by its lowest frame
            tops, bests = sub.argmax(2), sub.max(2)
            top, best = chosen[tops[:, 0]], np.where((tops == tops[:, :1]).all(1), bests.min(1), -np.inf)
        else:
            top, best = chosen[sub.argmax(1)], sub.max(1)
        is_known = enrolled[h.owner] & ~h.own_template
        is_stranger = ~enrolled[h.owner]
        known += int(((best >= at) & (top == h.owner) & is_known).sum())
        strangers += int(((best >= at) & is_stranger).sum())
        known_n += int(is_known.sum())
        strangers_n += int(is_stranger.sum())
        best_known.append(np.where(top == h.owner, best, -np.inf)[is_known])
        best_strangers.append(best[is_stranger])
    bk, bs = np.concatenate(best_known), np.sort(np.concatenate(best_strangers))[::-1]
    oracle = bs[int(TARGET * len(bs))] + 1e-9  # the best this half's own strangers allow at FPIR 1 %
    return known, known_n, strangers, strangers_n, float(((bk >= oracle) & np.isfinite(bk)).mean())


def time_models(models: list[str], count: int, identities: Path) -> None:
    """Seconds per photo of each model's whole analysis (decode, detect, align, embed), the models taking turns
    on the same photos in this run: fusion costs about their sum."""
    import os
    import time

    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerec.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test import override_settings

    from entries.recognition import faces

    names = sorted(evaluation.read_identities(identities))[::max(1, 5373 // count)][:count]
    seconds: dict[str, list[float]] = {m: [] for m in models}
    for warm_up in (True, False):
        for name in names[:2] if warm_up else names:
            data = (identities.parent / name).read_bytes()
            for model in models:
                with override_settings(FACEREC={**getattr(settings, "FACEREC", {}), "MODEL": model}):
                    start = time.perf_counter()
                    faces.analyse(data, largest_face=True, check_quality=False)
                    if not warm_up:
                        seconds[model].append(time.perf_counter() - start)
    base = np.median(seconds[models[0]])
    print(f"time per photo, {len(names)} lfw-dev photos, models taking turns in this run (one core): "
          + "; ".join(f"{m} median {np.median(v) * 1000:.0f} ms ({np.median(v) / base:.2f}× {models[0]})"
                      for m, v in seconds.items())
          + f"; both {sum(np.median(v) for v in seconds.values()) / base:.2f}× {models[0]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, action="append", required=True,
                        help="evaluate's .npz of lfw-dev embeddings; give one per model (the first is the primary)")
    parser.add_argument("--identities", type=Path, default=LFW / "identities.csv")
    parser.add_argument("--cohort-share", type=int, default=10, help="1/share of the people make the s-norm cohort")
    parser.add_argument("--k", type=int, action="append", help="s-norm's top-k cohort scores (default 50)")
    parser.add_argument("--frames", type=int, default=2, help="photos per multi-frame probe")
    parser.add_argument("--draws", type=int, default=10, help="random galleries per size")
    parser.add_argument("--no-frames", action="store_true", help="skip the multi-frame rows")
    parser.add_argument("--time", type=int, metavar="PHOTOS",
                        help="only time each cached model's analysis on this many photos, in turns")
    args = parser.parse_args()
    ks = args.k or [50]
    if args.time:
        return time_models([read_cache(p).model for p in args.cache], args.time, args.identities)

    caches = [read_cache(p) for p in args.cache]
    ids = evaluation.read_identities(args.identities)
    both = set.intersection(*(set(c.vectors) for c in caches))
    ids = {n: p for n, p in ids.items() if n in both}
    cohort_people = sorted({p for p in ids.values() if is_cohort(p, args.cohort_share)})
    rest = {n: p for n, p in ids.items() if p not in cohort_people}
    halves = evaluation.split_people(rest)
    cohort_photos = evaluation.photos_by_person(ids, both, set(cohort_people))
    cohorts = {c.model: np.stack([c.vectors[cohort_photos[p][0]] for p in cohort_people]) for c in caches}
    photos = [evaluation.photos_by_person(rest, both, h) for h in halves]
    largest = min(len(p) for p in photos) - 40  # leaves 40 people or more as strangers in every gallery
    sizes = [n for n in (100, 300, 1000) if n < largest] + [largest]
    primary, models = caches[0].model, [c.model for c in caches]
    ks = list(dict.fromkeys(min(k, len(cohort_people)) for k in ks))  # k is at most the cohort

    print(f"models {', '.join(models)}; {len(both)} photos embedded by every model (of "
          f"{', '.join(f'{len(c.vectors)} {c.model}' for c in caches)}); cohort {len(cohort_people)} people, one "
          f"photo each; halves {len(photos[0])} / {len(photos[1])} people; {args.draws} galleries per size; "
          f"FPIR target {TARGET:.0%}")
    for c in caches:
        print(f"  {c.model}: time per photo (decode, detect, align, embed; from its cache) median "
              f"{np.median(c.seconds) * 1000:.0f} ms, p95 {np.percentile(c.seconds, 95) * 1000:.0f} ms")

    def fixed(scorer: Scorer) -> Callable[[Half], Scorer]:  # a lever that learns nothing from the calibration half
        return lambda _: scorer

    one = [(f"{m} alone", fixed(cosine(m))) for m in models]
    one += [(f"{m} + s-norm (k={k})", fixed(s_norm(m, cohorts[m], k))) for k in ks for m in models]
    if len(models) > 1:
        one += [(f"fusion {' + '.join(models)}, z-scores", fused([cosine(m) for m in models], "z")),
                (f"fusion {' + '.join(models)}, logistic", fused([cosine(m) for m in models], "lr")),
                (f"fusion of s-normed scores (k={ks[0]}), z-scores",
                 fused([s_norm(m, cohorts[m], ks[0]) for m in models], "z"))]
    several = [(f"{primary}, first frame only", fixed(cosine(primary, "first"))),
               (f"today's kiosk rule, {primary}: every frame finds the same person above the one-photo threshold",
                fixed(every_frame(primary))),
               (f"{primary}, mean embedding of frames", fixed(cosine(primary, "mean"))),
               (f"{primary}, best frame score", fixed(cosine(primary, "max"))),
               (f"{primary}, mean frame score", fixed(cosine(primary, "avg"))),
               (f"{primary} + s-norm (k={ks[0]}), mean embedding of frames",
                fixed(s_norm(primary, cohorts[primary], ks[0], "mean")))]
    if len(models) > 1:
        several.append(("fusion, z-scores, mean embedding of frames", fused([cosine(m, "mean") for m in models], "z")))

    print("\n| lever | probes | " + " | ".join(f"TPIR / FPIR at N = {n:,}" for n in sizes)
          + f" | best TPIR at FPIR 1 % (N = {sizes[-1]:,}) |")
    print("| --- | --- | " + " | ".join("---" for _ in sizes) + " | --- |")
    singles = [half(p, caches, 1) for p in photos]
    for frames, levers in ((1, one), (args.frames, several))[:1 if args.no_frames else 2]:
        parts = [half(p, caches, frames) for p in photos] if frames > 1 else singles
        label = "1 photo" if frames == 1 else f"{frames} photos"
        for name, learn in levers:
            cells: dict[int, list] = {n: [] for n in sizes}
            for a, b in ((0, 1), (1, 0)):
                scorer = learn(parts[a])
                if name.startswith("today"):  # the one-photo threshold, as shipped
                    at = threshold(singles[a], cosine(primary)(singles[a]), sizes)
                else:
                    at = threshold(parts[a], scorer(parts[a]), sizes)
                report = scorer(parts[b])
                for size, t in zip(sizes, at, strict=True):
                    cells[size].append(measure(parts[b], report, size, t, args.draws, seed=size))
            row = []
            for size in sizes:
                k, kn, s, sn, _ = np.sum([c[:4] + (0,) for c in cells[size]], axis=0)
                row.append(f"{k / kn:.3f} / {s / sn:.2%}")
            oracle = np.mean([c[4] for c in cells[sizes[-1]]])
            print(f"| {name} | {label} | " + " | ".join(row) + f" | {oracle:.3f} |", flush=True)


if __name__ == "__main__":
    main()

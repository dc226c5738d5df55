"""Accuracy on labelled photos, measured the way it will be used: on people not used to calibrate.

- 1:1: labelled pairs; the threshold is chosen on all folds but one and measured on that one.
- 1:N open set: the people are split in two halves; one half calibrates (calibration.py), the
  other is measured: random galleries of N people (one photo each), known probes (another photo
  of an enrolled person, right only when found at rank 1) and strangers (people not enrolled).
"""

from __future__ import annotations

import csv
import hashlib
import multiprocessing
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.exceptions import FaceRecError

from . import calibration, faces
from .vectors import clip, normalise

OPEN_SET_SIZES = (10, 30, 100, 300, 1000)  # 1,000 is about the most a held-out half (~1,040 people) allows
CONFIDENCE_SIZES = (10, 100, 300, 1000)


# Embedding a labelled set ----------------------------------------------------------------------

@dataclass
class Embedded:
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    quality: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    no_face: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


Embedding = tuple[np.ndarray, tuple[float, float, float], float]  # vector, (eye distance, sharpness, yaw), seconds


def _embed_one(path: Path, scale: float = 1.0) -> Embedding | tuple[str, str]:
    """Worker: (vector, (eye distance, sharpness, yaw), seconds) or an error string.

    scale < 1 shrinks the photo first (losslessly re-encoded), to see how small a face may be.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        return "unreadable", str(exc)
    if scale != 1.0:
        data = _shrink(data, scale)
    start = time.perf_counter()
    try:
        face = faces.analyse(data, largest_face=True, check_quality=False)
    except FaceRecError as exc:
        return "no_face", exc.message
    q = face.quality
    assert q is not None  # analyse measures every face it returns
    return face.embedding, (q.eye_distance, q.sharpness, q.yaw), time.perf_counter() - start


def _shrink(data: bytes, scale: float) -> bytes:
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                         Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _warm_up() -> None:
    faces.get_engine()


def embed_photos(names: Iterable[str], folder: Path, workers: int = 1, scale: float = 1.0) -> Embedded:
    """Embed each photo once (its largest face, no quality gate), timing the whole analysis per photo."""
    names = sorted(set(names))
    paths = [folder / name for name in names]
    out = Embedded()
    if workers > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_warm_up) as pool:
            results = list(pool.map(_embed_one, paths, [scale] * len(paths), chunksize=8))
    else:
        _warm_up()
        results = [_embed_one(p, scale) for p in paths]
    for name, result in zip(names, results, strict=True):
        if len(result) == 2:
            (out.unreadable if result[0] == "unreadable" else out.no_face).append(name)
        else:
            vector, quality, seconds = result
            out.vectors[name] = normalise(vector)
            out.quality[name] = quality
            out.seconds.append(seconds)
    return out


# Reading labelled data -------------------------------------------------------------------------

def read_pairs(path: Path) -> list[tuple[str, str, bool, int]]:
    """(img_a, img_b, same, fold) rows; without a fold column, pairs are dealt into 5 folds in turn."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"img_a", "img_b", "same"} <= rows[0].keys():
        raise ValueError("expected the columns img_a,img_b,same[,fold]")
    return [
        (row["img_a"].strip(), row["img_b"].strip(), row["same"].strip().lower() in ("1", "true", "same", "yes"),
         int(row["fold"]) if row.get("fold") else 1 + i % 5)
        for i, row in enumerate(rows)
    ]


def read_identities(path: Path) -> dict[str, str]:
    with path.open(newline="") as handle:
        return {row["image"]: row["person"] for row in csv.DictReader(handle)}


# 1:1 -------------------------------------------------------------------------------------------

@dataclass
class PairReport:
    scores: np.ndarray
    same: np.ndarray
    folds: np.ndarray
    missing: int  # pairs with a photo without a face: scored 0 (decided "different")
    pairs: list = field(default_factory=list)  # (img_a, img_b, same, fold) in the order scored

    def accuracy(self, threshold: float, mask: np.ndarray | None = None) -> float:
        mask = np.ones(len(self.scores), bool) if mask is None else mask
        return float(((self.scores[mask] >= threshold) == self.same[mask]).mean())

    def best_threshold(self, mask: np.ndarray | None = None) -> tuple[float, float]:
        """The accuracy-maximising threshold (middle of the best interval) and its accuracy."""
        mask = np.ones(len(self.scores), bool) if mask is None else mask
        cuts = np.unique(self.scores[mask])
        candidates = np.concatenate([[cuts[0] - 1e-4], (cuts[1:] + cuts[:-1]) / 2, [cuts[-1] + 1e-4]])
        accuracies = np.array([self.accuracy(t, mask) for t in candidates])
        best = np.flatnonzero(accuracies == accuracies.max())
        return float(np.round(candidates[best[len(best) // 2]], 4)), float(accuracies.max())

    def cross_validated(self) -> tuple[list[float], list[float]]:
        """Per fold: the threshold chosen on the other folds, and the accuracy it gives on this one."""
        thresholds, accuracies = [], []
        for fold in np.unique(self.folds):
            threshold, _ = self.best_threshold(self.folds != fold)
            thresholds.append(threshold)
            accuracies.append(self.accuracy(threshold, self.folds == fold))
        return thresholds, accuracies

    def fold_mean_accuracy(self, threshold: float) -> float:
        return float(np.mean([self.accuracy(threshold, self.folds == f) for f in np.unique(self.folds)]))

    def tar_at_far(self, far: float) -> tuple[float, float]:
        """The true accept rate at the lowest threshold whose false accept rate is at most `far`."""
        impostors = np.sort(self.scores[~self.same])[::-1]
        allowed = int(np.floor(far * len(impostors)))
        threshold = impostors[allowed] + 1e-6 if allowed < len(impostors) else impostors[-1]
        return float((self.scores[self.same] >= threshold).mean()), float(threshold)

    def det(self) -> tuple[np.ndarray, np.ndarray]:
        """False match rate and false non-match rate at every observed threshold."""
        thresholds = np.unique(self.scores)
        fmr = np.array([(self.scores[~self.same] >= t).mean() for t in thresholds])
        fnmr = np.array([(self.scores[self.same] < t).mean() for t in thresholds])
        return fmr, fnmr


def score_pairs(pairs: Iterable[tuple[str, str, bool, int]], embedded: Embedded) -> PairReport:
    pairs = list(pairs)
    scores: list[float] = []
    same: list[bool] = []
    folds: list[int] = []
    missing = 0
    for a, b, is_same, fold in pairs:
        if a in embedded.vectors and b in embedded.vectors:
            scores.append(float(clip(embedded.vectors[a] @ embedded.vectors[b])))
        else:
            scores.append(0.0)
            missing += 1
        same.append(is_same)
        folds.append(fold)
    return PairReport(np.array(scores), np.array(same, dtype=bool), np.array(folds), missing, pairs)


# People, galleries and trials ------------------------------------------------------------------

def photos_by_person(identities: dict[str, str], vectors: dict,
                     people: Collection[str] | None = None) -> dict[str, list[str]]:
    """Each person's embedded photos, in file-name order (the first one is the enrolment photo)."""
    out: dict[str, list[str]] = {}
    for name in sorted(identities):
        person = identities[name]
        if name in vectors and (people is None or person in people):
            out.setdefault(person, []).append(name)
    return out


def split_people(identities: dict[str, str]) -> tuple[set[str], set[str]]:
    """Two halves of the people, by a stable hash of their names."""
    halves: tuple[set[str], set[str]] = (set(), set())
    for person in set(identities.values()):
        halves[hashlib.sha256(person.encode()).digest()[0] % 2].add(person)
    return halves


def probe_scores(photos: dict[str, list[str]], vectors: dict) -> list[np.ndarray]:
    """For every photo: its similarities to the enrolment photo of every other person."""
    people = list(photos)
    gallery = np.stack([vectors[photos[p][0]] for p in people])
    scores = []
    for i, person in enumerate(people):
        others = np.ones(len(people), bool)
        others[i] = False
        for name in photos[person]:
            scores.append((gallery @ vectors[name])[others])
    return scores


@dataclass
class Trials:
    """Best-match similarities from simulated identify searches at one gallery size."""

    size: int
    known_best: np.ndarray  # known probes: best similarity
    known_right: np.ndarray  # known probes: whether the best candidate is the right person
    stranger_best: np.ndarray  # strangers: best similarity

    def tpir(self, threshold: float) -> float:
        return float(((self.known_best >= threshold) & self.known_right).mean())

    def fpir(self, threshold: float) -> float:
        return float((self.stranger_best >= threshold).mean())

    def threshold_at_fpir(self, fpir: float) -> float:
        """The threshold that lets through a share `fpir` of these strangers (the model's own limit)."""
        ranked = np.sort(self.stranger_best)[::-1]
        allowed = int(np.floor(fpir * len(ranked)))
        return float(ranked[allowed] + 1e-6) if allowed < len(ranked) else float(ranked[-1])


def simulate(photos: dict[str, list[str]], vectors: dict, size: int, draws: int, seed: int = 0,
             enrol: int = 1, fusion: str = "max") -> Trials:
    """Random galleries of `size` people; every other photo of an enrolled person is a known probe,
    every photo of the others a stranger. With enrol > 1, people with more than `enrol` photos are
    enrolled with their first `enrol` photos and scored by their best photo (max) or their mean (mean)."""
    rng = np.random.default_rng(seed)
    people = sorted(photos)
    size = min(size, len(people) - 1)
    known_best, known_right, stranger_best = [], [], []
    for _ in range(draws):
        chosen = rng.choice(len(people), size=size, replace=False)
        enrolled = {people[i] for i in chosen}
        templates: list[np.ndarray] = []
        owners: list[int] = []
        for index, person in enumerate(sorted(enrolled)):
            count = enrol if len(photos[person]) > enrol else 1
            shots = np.stack([vectors[n] for n in photos[person][:count]])
            if fusion == "mean":
                mean = shots.mean(0)
                shots = normalise(mean)[None]
            templates.append(shots)
            owners += [index] * len(shots)
        gallery, owner_of = np.concatenate(templates), np.array(owners)
        names = sorted(enrolled)
        for person in people:
            is_known = person in enrolled
            probes = photos[person][(enrol if len(photos[person]) > enrol else 1):] if is_known else photos[person]
            if not probes:
                continue
            sims = np.stack([vectors[n] for n in probes]) @ gallery.T
            best = np.full((len(probes), len(names)), -1.0)
            np.maximum.at(best.T, owner_of, sims.T)  # best photo per person
            top, score = best.argmax(1), best.max(1)
            if is_known:
                known_best += list(score)
                known_right += list(top == names.index(person))
            else:
                stranger_best += list(score)
    return Trials(size, np.array(known_best), np.array(known_right, bool), np.array(stranger_best))


# Calibration from labelled data ----------------------------------------------------------------

def calibrate(identities: dict[str, str], embedded: Embedded, pairs: PairReport | None,
              people: Collection[str] | None = None, seed: int = 0) -> dict:
    """A model's calibration (see calibration.py) learned from these people only."""
    photos = photos_by_person(identities, embedded.vectors, people)
    scores = probe_scores(photos, embedded.vectors)
    table = calibration.fpir_table(scores)
    features, labels, weights = [], [], []
    for size in CONFIDENCE_SIZES:
        if size >= len(photos):
            continue
        trials = simulate(photos, embedded.vectors, size, draws=3, seed=seed)
        for best, right, weight in ((trials.known_best, trials.known_right, 0.5 / max(1, len(trials.known_best))),
                                    (trials.stranger_best, np.zeros(len(trials.stranger_best), bool),
                                     0.5 / max(1, len(trials.stranger_best)))):
            features.append(np.column_stack([best, np.full(len(best), np.log(size))]))
            labels.append(right.astype(float))
            weights.append(np.full(len(best), weight))
    values = {"identify": table, "tail": calibration.fit_tail(scores),
              "confidence": calibration.fit_logistic(np.concatenate(features), np.concatenate(labels),
                                                     np.concatenate(weights)),
              "people": len(photos), "photos": sum(len(v) for v in photos.values())}
    if pairs is not None:
        values["verify_threshold"] = pairs.best_threshold()[0]
        same = pairs.same.astype(float)
        weight = np.where(pairs.same, 0.5 / max(1, same.sum()), 0.5 / max(1, (1 - same).sum()))
        values["verify_confidence"] = calibration.fit_logistic(pairs.scores[:, None], same, weight)
    return values


def reliability(model_calibration: dict, trials: list[Trials], threshold_of: Callable[[int], float]) -> float:
    """Expected calibration error of identify confidences on held-out trials (ten bins).

    threshold_of(size) gives the decision threshold at a gallery size.
    """
    confidence_parts: list[np.ndarray] = []
    right_parts: list[np.ndarray] = []
    for t in trials:
        threshold = threshold_of(t.size)
        for best, right, strangers in ((t.known_best, t.known_right, False),
                                       (t.stranger_best, np.zeros(len(t.stranger_best), bool), True)):
            p = calibration.fitted_match_probability(model_calibration["confidence"], best, t.size)
            matched = best >= threshold
            confidence_parts.append(np.where(matched, p, 1 - p))
            right_parts.append(~matched if strangers else matched & right)
    confidences, rights = np.concatenate(confidence_parts), np.concatenate(right_parts)
    error = 0.0
    edges = np.linspace(0.0, 1.0, 11)
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        mask = (confidences >= low) & ((confidences < high) | (high == 1.0))
        if mask.any():
            error += mask.mean() * abs(confidences[mask].mean() - rights[mask].mean())
    return float(error)

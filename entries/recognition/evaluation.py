"""Accuracy on labelled photos: pairs (1:1) and an open-set identify experiment (1:N)."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import FaceRecError
from . import calibration, faces
from .search import normalise


@dataclass
class Embedded:
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    no_face: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def embed_photos(names, folder: Path) -> Embedded:
    """Embed each photo once (largest face), timing the whole analysis per photo."""
    out = Embedded()
    faces.get_engine()
    for name in sorted(set(names)):
        try:
            data = (folder / name).read_bytes()
            start = time.perf_counter()
            face = faces.analyse(data, largest_face=True)
            out.seconds.append(time.perf_counter() - start)
            out.vectors[name] = normalise(face.embedding)
        except FaceRecError:
            out.no_face.append(name)
        except OSError:
            out.unreadable.append(name)
    return out


def read_pairs(path: Path) -> list[tuple[str, str, bool]]:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header = [c.strip().lower() for c in rows[0]]
    body = rows[1:] if not header[-1].lstrip("-").isdigit() else rows
    return [(a.strip(), b.strip(), str(s).strip().lower() in ("1", "true", "same", "yes")) for a, b, s, *_ in body]


@dataclass
class PairReport:
    scores: np.ndarray
    same: np.ndarray
    skipped: int

    def accuracy(self, threshold: float) -> float:
        return float(((self.scores >= threshold) == self.same).mean())

    def best_threshold(self) -> tuple[float, float]:
        """The accuracy-maximising threshold (middle of the best interval) and its accuracy."""
        cuts = np.unique(self.scores)
        candidates = np.concatenate([[cuts[0] - 1e-4], (cuts[1:] + cuts[:-1]) / 2, [cuts[-1] + 1e-4]])
        accuracies = np.array([self.accuracy(t) for t in candidates])
        best = np.flatnonzero(accuracies == accuracies.max())
        return float(np.round(candidates[best[len(best) // 2]], 4)), float(accuracies.max())

    def tar_at_far(self, far: float) -> tuple[float, float]:
        """The true accept rate at the lowest threshold whose false accept rate is at most `far`."""
        impostors = np.sort(self.scores[~self.same])[::-1]
        allowed = int(np.floor(far * len(impostors)))
        threshold = impostors[allowed] + 1e-6 if allowed < len(impostors) else impostors[-1]
        return float((self.scores[self.same] >= threshold).mean()), float(threshold)

    def equal_error_rate(self) -> float:
        best = 1.0
        for t in np.unique(self.scores):
            far = (self.scores[~self.same] >= t).mean()
            frr = (self.scores[self.same] < t).mean()
            best = min(best, max(far, frr))
        return float(best)


def score_pairs(pairs, embedded: Embedded) -> PairReport:
    scores, same, skipped = [], [], 0
    for a, b, is_same in pairs:
        if a in embedded.vectors and b in embedded.vectors:
            scores.append(float(embedded.vectors[a] @ embedded.vectors[b]))
            same.append(is_same)
        else:
            skipped += 1
    return PairReport(np.array(scores), np.array(same, dtype=bool), skipped)


def read_identities(path: Path) -> dict[str, str]:
    with path.open(newline="") as handle:
        return {row["image"]: row["person"] for row in csv.DictReader(handle)}


def impostor_scores(identities: dict[str, str], embedded: Embedded) -> np.ndarray:
    names = [n for n in sorted(identities) if n in embedded.vectors]
    matrix = np.stack([embedded.vectors[n] for n in names])
    sims = matrix @ matrix.T
    people = np.array([identities[n] for n in names])
    upper = np.triu(np.ones_like(sims, dtype=bool), k=1)
    return sims[upper & (people[:, None] != people[None, :])]


@dataclass
class OpenSetReport:
    enrolled_people: int
    threshold: float
    rank1_hits: int
    rank1_total: int
    rejected: int
    strangers: int

    @property
    def rank1_rate(self) -> float:
        return self.rank1_hits / max(1, self.rank1_total)

    @property
    def rejection_rate(self) -> float:
        return self.rejected / max(1, self.strangers)


def open_set(identities: dict[str, str], embedded: Embedded, enroll: int, model_name: str) -> OpenSetReport:
    """Enrol the first photo of the first `enroll` people; probe with every other photo."""
    people = sorted(set(identities.values()))[:enroll]
    gallery = {}
    for name in sorted(identities, key=lambda n: (len(n), n)):
        person = identities[name]
        if person in people and person not in gallery and name in embedded.vectors:
            gallery[person] = name
    labels = list(gallery)
    matrix = np.stack([embedded.vectors[gallery[p]] for p in labels])
    threshold = calibration.identify_threshold(model_name, len(labels))
    hits = total = rejected = strangers = 0
    for name, person in identities.items():
        if name not in embedded.vectors or name in gallery.values():
            continue
        sims = matrix @ embedded.vectors[name]
        best = int(np.argmax(sims))
        decided = labels[best] if sims[best] >= threshold else None
        if person in gallery:
            total += 1
            hits += decided == person
        else:
            strangers += 1
            rejected += decided is None
    return OpenSetReport(len(labels), threshold, hits, total, rejected, strangers)

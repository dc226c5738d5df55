"""Decision thresholds and confidences, learned per model from labelled photos (`evaluate --write-calibration`).

Similarity is the cosine similarity of two L2-normalised embeddings, clipped to [0, 1].

- Verify (1:1) uses one fixed threshold: the accuracy-maximising one on labelled pairs.
- Identify (1:N) must not: the more faces are enrolled, the likelier a stranger's nearest
  neighbour clears a 1:1 threshold. Its threshold is set for a target false-positive
  identification rate (FPIR) at the current gallery size N, from an empirical table
  FPIR(N, t): for every labelled photo, the chance that a random gallery of N other people
  (one photo each) holds someone at similarity >= t, counted exactly (hypergeometric) from
  that photo's similarities to everyone else, then averaged over photos. No distribution is
  assumed; "wolves" and "lambs" count as they are. Past the largest N the table holds, a tail
  model takes over (`fit_tail`): each photo's own high scores, extended beyond the data by a
  generalized Pareto tail, predict how often a stranger meets someone as alike among N people.
  (Without one, the threshold is extrapolated along log N.)
- Confidence: the probability that a decision is right, from a logistic fit on similarity and
  log N of simulated identify trials (known people and strangers weighted equally).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .. import conf
from .models import CALIBRATION_FILE

THRESHOLD_GRID = np.round(np.arange(0.0, 1.0 + 1e-9, 0.0025), 4)
GALLERY_SIZES = (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 1500, 2000)


def file_of(model_name: str) -> Path:
    """Where a model's calibration is kept: its FaceModel.calibration_file (a plug-in may ship its own)."""
    from . import registry

    try:
        return registry.get(model_name).calibration_file
    except registry.UnknownModel:
        return CALIBRATION_FILE


@cache
def _table(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save(model_name: str, values: dict) -> Path:
    """Store a model's calibration (from `evaluate --write-calibration`) and use it from now on."""
    path = file_of(model_name)
    table = json.loads(path.read_text()) if path.exists() else {}
    table[model_name] = values
    text = json.dumps(table, indent=1)
    # one line per list of numbers: the FPIR table stays readable in a diff
    text = re.sub(r"\[([-0-9.e,\s]+)\]", lambda m: "[" + re.sub(r"\s+", "", m.group(1)) + "]", text)
    path.write_text(text + "\n")
    _table.cache_clear()
    _identify_threshold.cache_clear()
    return path


def for_model(model_name: str) -> dict:
    try:
        return _table(file_of(model_name))[model_name]
    except KeyError:
        raise LookupError(
            f"No calibration for model {model_name!r}: run `manage.py evaluate --model {model_name} "
            "--write-calibration`."
        ) from None


# Learning a calibration -------------------------------------------------------------------------

def fpir_table(probe_scores: list[np.ndarray], sizes: Sequence[int] = GALLERY_SIZES,
               grid: np.ndarray = THRESHOLD_GRID) -> dict:
    """FPIR(N, t) for each gallery size N and threshold t on the grid.

    probe_scores: for each probe photo, its similarities to one photo of every *other* person.
    A random gallery of N of those people contains k_t = #(scores >= t) of them with probability
    1 - C(n - k_t, N) / C(n, N); FPIR is its mean over probes.
    """
    largest = max(len(s) for s in probe_scores)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, largest + 1)))])
    sizes = [n for n in sizes if n <= min(len(s) for s in probe_scores)]
    rows = np.zeros((len(sizes), len(grid)))
    for scores in probe_scores:
        n = len(scores)
        above = n - np.searchsorted(np.sort(scores), grid, side="left")  # k_t for each t
        free = n - above
        for i, size in enumerate(sizes):
            possible = free >= size
            log_none = np.where(possible, log_fact[np.maximum(free, size)] - log_fact[np.maximum(free - size, 0)]
                                - log_fact[n] + log_fact[n - size], -np.inf)
            rows[i] += 1.0 - np.exp(log_none)
    rows /= len(probe_scores)
    return {"sizes": sizes, "thresholds": [float(t) for t in grid],
            "fpir": [[round(float(v), 6) for v in row] for row in rows]}


TAIL_RATE = 0.02  # each photo's top 2 % of scores (its best 42 of 2,085 people on lfw-dev) feed the tail fit


def fit_tail(probe_scores: list[np.ndarray], rate: float = TAIL_RATE) -> dict:
    """A peaks-over-threshold model of how alike a stranger's best match among N people can be.

    For each probe photo, u is its k-th highest similarity to the n other people (k = rate * n):
    the share of people it meets at >= u is r = k / n. Above u, its false-match rate decays as a
    generalized Pareto tail, FMR(t) = r * (1 + xi (t - u) / sigma(u)) ** (-1 / xi), with one shape xi
    for everyone and a scale that may shrink for photos whose u is high ("lambs" whose near misses
    crowd below the same ceiling): sigma(u) = exp(a + b (u - mean u)). xi, a and b are the maximum
    likelihood fit of every photo's k - 1 excesses over its own u. Only u's histogram (to 0.001) is kept.
    """
    tops = [np.sort(s)[-max(3, math.ceil(rate * len(s))):] for s in probe_scores]
    u = np.array([top[0] for top in tops])
    excess = np.concatenate([top[1:] - top[0] for top in tops])
    offset = np.concatenate([np.full(len(top) - 1, top[0] - u.mean()) for top in tops])

    def nll(params: np.ndarray) -> float:
        xi, a, b = params
        sigma = np.exp(a + b * offset)
        z = 1 + xi * excess / sigma
        if abs(xi) < 1e-6 or np.any(z <= 0):
            return math.inf
        return float(np.log(sigma).sum() + (1 + 1 / xi) * np.log(z).sum())

    xi, a, b = _nelder_mead(nll, np.array([-0.1, math.log(excess.mean()), 0.0]))
    bins, counts = np.unique(np.round(u.astype(float), 3), return_counts=True)
    n = len(probe_scores[0])
    return {"rate": round(max(3, math.ceil(rate * n)) / n, 6), "xi": round(float(xi), 5),
            "log_sigma": [round(float(a), 5), round(float(b), 5)], "u_mean": round(float(u.mean()), 5),
            "u": [round(float(v), 3) for v in bins], "u_count": [int(c) for c in counts]}


def _nelder_mead(f: Callable[[np.ndarray], float], start: np.ndarray, step: float = 0.1,
                 iterations: int = 600) -> np.ndarray:
    """Minimise f from start (the downhill simplex method; a few parameters, no derivatives)."""
    points = [start] + [start + step * e for e in np.eye(len(start))]
    values = [f(p) for p in points]
    for _ in range(iterations):
        order = np.argsort(values)
        points, values = [points[i] for i in order], [values[i] for i in order]
        centre = np.mean(points[:-1], axis=0)
        reflected = 2 * centre - points[-1]
        fr = f(reflected)
        if fr < values[0]:
            expanded = 3 * centre - 2 * points[-1]
            fe = f(expanded)
            points[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[-2]:
            points[-1], values[-1] = reflected, fr
        else:
            contracted = (centre + points[-1]) / 2
            fc = f(contracted)
            if fc < values[-1]:
                points[-1], values[-1] = contracted, fc
            else:
                points = [points[0]] + [(points[0] + p) / 2 for p in points[1:]]
                values = [values[0]] + [f(p) for p in points[1:]]
    return points[int(np.argmin(values))]


def tail_fpir(tail: dict, gallery_size: int, grid: np.ndarray = THRESHOLD_GRID) -> np.ndarray:
    """FPIR(N, t) on the grid predicted by a tail model: the mean over probes of 1 - (1 - FMR(t)) ** N.

    Below its own u a probe is taken to meet someone for sure (N * rate is large past the table).
    """
    u, count = np.array(tail["u"])[:, None], np.array(tail["u_count"])[:, None]
    a, b = tail["log_sigma"]
    xi = tail["xi"]
    sigma = np.exp(a + b * (u - tail["u_mean"]))
    z = np.maximum(1 + xi * np.maximum(grid[None, :] - u, 0) / sigma, 0)
    fmr = tail["rate"] * np.where(z > 0, z ** (-1 / xi), 0.0)
    hit = np.where(grid[None, :] < u, 1.0, -np.expm1(gallery_size * np.log1p(-fmr)))
    return (hit * count).sum(0) / count.sum()


def fit_logistic(features: np.ndarray, labels: np.ndarray, weights: np.ndarray, steps: int = 50) -> list[float]:
    """Weighted logistic regression by Newton's method; returns coefficients, intercept last."""
    x = np.column_stack([features, np.ones(len(features))])
    beta = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-x @ beta))
        gradient = x.T @ (weights * (labels - p))
        hessian = (x * (weights * p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-9:
            break
    return [round(float(b), 5) for b in beta]


# Using a calibration ---------------------------------------------------------------------------

def verify_threshold(model_name: str) -> float:
    configured = conf.get("VERIFY_THRESHOLD")
    return float(configured) if configured is not None else for_model(model_name)["verify_threshold"]


def _threshold_at(fpirs: npt.ArrayLike, thresholds: Sequence[float], target: float) -> float:
    """The lowest threshold whose FPIR is at most target (FPIR falls as the threshold rises)."""
    fpirs = np.asarray(fpirs)
    below = np.flatnonzero(fpirs <= target)
    if not len(below):
        return thresholds[-1]
    i = below[0]
    if i == 0:
        return thresholds[0]
    # linear between the grid points on either side of the target
    f0, f1, t0, t1 = fpirs[i - 1], fpirs[i], thresholds[i - 1], thresholds[i]
    return t1 if f0 == f1 else t0 + (t1 - t0) * (f0 - target) / (f0 - f1)


def threshold_for(table: dict, fpir: float, gallery_size: int, tail: dict | None = None) -> float:
    """The similarity at which strangers match one of `gallery_size` people with probability `fpir`.

    Past the table's largest N: the tail model's threshold, never below the table's last one.
    """
    sizes, thresholds = table["sizes"], table["thresholds"]
    per_size = [_threshold_at(row, thresholds, fpir) for row in table["fpir"]]
    logs = np.log(sizes)
    n = math.log(max(1, gallery_size))
    if n <= logs[-1]:
        return float(np.interp(n, logs, per_size))
    if tail is not None:
        return float(max(per_size[-1], _threshold_at(tail_fpir(tail, gallery_size), list(THRESHOLD_GRID), fpir)))
    slope = (per_size[-1] - per_size[-2]) / (logs[-1] - logs[-2])  # extrapolate along log N
    return float(per_size[-1] + slope * (n - logs[-1]))


def fpir_at(table: dict, threshold: float, gallery_size: int) -> float:
    """The FPIR the table predicts for a threshold at a gallery size (within the table's sizes)."""
    sizes = np.log(table["sizes"])
    by_size = [np.interp(threshold, table["thresholds"], row) for row in table["fpir"]]
    return float(np.interp(math.log(max(1, gallery_size)), sizes, by_size))


def identify_threshold(model_name: str, gallery_size: int, fpir: float | None = None) -> float:
    """The similarity a best match must reach so strangers match someone with probability FPIR."""
    configured = conf.get("IDENTIFY_THRESHOLD")
    if configured is not None and fpir is None:
        return float(configured)
    target = conf.get("IDENTIFY_FPIR") if fpir is None else fpir
    return _identify_threshold(file_of(model_name), model_name, target, gallery_size)


@lru_cache(maxsize=4096)
def _identify_threshold(path: Path, model_name: str, target: float, gallery_size: int) -> float:
    """identify_threshold, computed once per calibration file and gallery size: identify asks it for every
    photo, and past the table the tail model costs more than a search (save() forgets them)."""
    cal = for_model(model_name)
    threshold = threshold_for(cal["identify"], target, gallery_size, cal.get("tail"))
    # Never looser than the 1:1 threshold, never unreachable.
    return round(min(max(threshold, cal["verify_threshold"]), 0.999), 4)


def duplicate_threshold(model_name: str, gallery_size: int) -> float:
    """The similarity at which the duplicate-face guard refuses a new face as another employee's.

    Set for FACEREC_DUPLICATE_FPIR: that share of genuine newcomers is refused at this gallery size.
    Never below identify's threshold: a face refused there would be one identify may take for the other.
    """
    return max(identify_threshold(model_name, gallery_size),
               identify_threshold(model_name, gallery_size, fpir=conf.get("DUPLICATE_FPIR")))


def _sigmoid(z: npt.ArrayLike) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))


def fitted_match_probability(coefficients: Sequence[float], similarity: npt.ArrayLike,
                             gallery_size: int) -> np.ndarray:
    """The confidence fit (a, b, c) applied to similarities (scalars or arrays) at a gallery size."""
    a, b, c = coefficients
    return _sigmoid(a * np.asarray(similarity) + b * math.log(max(1, gallery_size)) + c)


def match_probability(model_name: str, similarity: float, gallery_size: int) -> float:
    """Probability that the best candidate at this similarity is the right person, at this gallery size."""
    return float(fitted_match_probability(for_model(model_name)["confidence"], similarity, gallery_size))


def identify_confidence(model_name: str, similarity: float | None, gallery_size: int, matched: bool) -> float:
    """Probability that an identify decision (a match, or unknown) is right."""
    if similarity is None:  # nobody enrolled: unknown is certain
        return 1.0
    p = match_probability(model_name, similarity, gallery_size)
    return round(p if matched else 1.0 - p, 4)


def verify_confidence(model_name: str, similarity: float, matched: bool) -> float:
    """Probability that a verify decision is right (same person and different person equally likely)."""
    a, c = for_model(model_name)["verify_confidence"]
    p = float(_sigmoid(a * similarity + c))
    return round(p if matched else 1.0 - p, 4)

"""Decision thresholds, calibrated on labelled photos by `manage.py evaluate --write-calibration`.

Similarity is the cosine similarity of two L2-normalised embeddings, clipped to [0, 1]; its raw
distance is 1 - cosine. Verify (1:1) uses a fixed threshold. Identify (1:N) must not: the more
faces are enrolled, the likelier a stranger's nearest neighbour clears a 1:1 threshold. So the
identify threshold is set for a target false-positive identification rate (FPIR) at the current
gallery size N, from a normal fit of impostor similarities: each comparison may falsely match
with probability f = 1 - (1 - FPIR) ** (1 / N).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from statistics import NormalDist

from .. import conf

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


@cache
def _table() -> dict:
    return json.loads(CALIBRATION_FILE.read_text())


def save(model_name: str, values: dict) -> None:
    """Store a model's calibration (from `evaluate --write-calibration`) and use it from now on."""
    table = json.loads(CALIBRATION_FILE.read_text()) if CALIBRATION_FILE.exists() else {}
    table[model_name] = {**table.get(model_name, {}), **values}
    CALIBRATION_FILE.write_text(json.dumps(table, indent=2) + "\n")
    _table.cache_clear()


def for_model(model_name: str) -> dict:
    try:
        return _table()[model_name]
    except KeyError:
        raise LookupError(
            f"No calibration for model {model_name!r}: run `manage.py evaluate --write-calibration`."
        ) from None


def verify_threshold(model_name: str) -> float:
    configured = conf.get("VERIFY_THRESHOLD")
    return float(configured) if configured is not None else for_model(model_name)["verify_threshold"]


def threshold_for(impostor_mean: float, impostor_std: float, fpir: float, gallery_size: int) -> float:
    """The similarity at which strangers match one of `gallery_size` faces with probability `fpir`."""
    false_match_rate = 1.0 - (1.0 - fpir) ** (1.0 / max(1, gallery_size))
    return NormalDist(impostor_mean, impostor_std).inv_cdf(1.0 - false_match_rate)


def fpir_at(impostor_mean: float, impostor_std: float, threshold: float, gallery_size: int) -> float:
    """The false-positive identification rate the impostor fit predicts for a threshold."""
    false_match_rate = 1.0 - NormalDist(impostor_mean, impostor_std).cdf(threshold)
    return 1.0 - (1.0 - false_match_rate) ** max(1, gallery_size)


def identify_threshold(model_name: str, gallery_size: int) -> float:
    """The similarity a best match must reach so strangers match someone with probability FPIR."""
    configured = conf.get("IDENTIFY_THRESHOLD")
    if configured is not None:
        return float(configured)
    cal = for_model(model_name)
    threshold = threshold_for(cal["impostor_mean"], cal["impostor_std"], conf.get("IDENTIFY_FPIR"), gallery_size)
    # Never looser than the 1:1 threshold, never unreachable.
    return round(min(max(threshold, cal["verify_threshold"]), 0.999), 4)

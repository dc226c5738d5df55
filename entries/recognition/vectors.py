"""The vector rules, written once: how embeddings are stored, normalised, compared and answered.

Pure NumPy, free of Django, so the engine, evaluation, the models and the gallery share one
definition. An embedding is stored as little-endian float32 bytes; faces are compared by cosine
similarity, the dot product of L2-normalised vectors; a similarity is reported clipped to [0, 1]
(calibration is learned on that scale) and rounded to 6 places.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DTYPE = "<f4"


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector).astype(DTYPE).tobytes()


def from_bytes(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=DTYPE)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Unit-length float32 vectors (each row of a matrix); a zero vector stays zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def clip(similarities: npt.ArrayLike) -> np.ndarray:
    """Cosine similarities on the scale thresholds and calibration use: negatives count as 0."""
    return np.clip(similarities, 0.0, 1.0)


def answer(similarity: npt.ArrayLike) -> float:
    """A similarity as identify, verify and the duplicate-face guard report it."""
    return round(float(clip(similarity)), 6)


def distance(similarity: float) -> float:
    """Cosine distance, 1 - cosine similarity (the raw number similarity is derived from)."""
    return round(1.0 - similarity, 6)

"""Nearest-face search behind one interface; the database stays the single source of truth.

- ExactIndex: a normalised float32 matrix in each process. Before each search it reads the
  gallery state (one primary-key lookup, renewed by every write); when it changed, it re-reads
  the rows changed since (or everything, after deletions). So every gunicorn worker sees an entry
  registered or deleted through any other on its next search. Exact; fine to about a million faces.
- PgVectorIndex: on PostgreSQL with the pgvector extension, an HNSW index in the database itself
  (table face_vectors, kept in step with faceEntries in the same transaction).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.db import connection
from django.db.models import Count, Max

from .. import conf
from ..models import FaceEntry, GalleryState

# A row saved in a transaction that commits late can carry an older timestamp than one already
# seen; re-reading a margin of recent rows makes the incremental refresh catch it.
REFRESH_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class Match:
    entry_id: int
    employee_code: str
    name: str
    department: str
    similarity: float

    @property
    def distance(self) -> float:
        """Cosine distance, 1 - cosine similarity (the raw number similarity is derived from)."""
        return round(1.0 - self.similarity, 6)


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def similarity_of(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.clip(normalise(a) @ normalise(b), 0.0, 1.0))


class ExactIndex:
    """All faces of one model as a matrix; cosine similarity by one matrix-vector product."""

    def __init__(self, model_name: str):
        self.model_name = model_name
        self._lock = threading.Lock()
        self._state = None
        self._reset()

    def _reset(self):
        self._size = 0
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._codes: list[str] = []
        self._names: list[str] = []
        self._departments: list[str] = []
        self._row_of: dict[int, int] = {}
        self._latest = None

    def _queryset(self):
        return FaceEntry.objects.with_model(self.model_name)

    def refresh(self) -> None:
        """Bring the matrix up to date with the database (one primary-key read when nothing changed)."""
        state = GalleryState.current()
        if state == self._state:
            return
        fingerprint = self._queryset().aggregate(count=Count("id"), latest=Max("updated_at"))
        with self._lock:
            if self._latest is not None and fingerprint["count"] >= self._size:
                self._load(self._queryset().filter(updated_at__gte=self._latest - REFRESH_MARGIN))
            if self._latest is None or self._size != fingerprint["count"]:  # first load, or rows deleted
                self._reset()
                self._load(self._queryset())
            self._state = state

    def _load(self, queryset) -> None:
        rows = queryset.values_list("id", "employee_code", "name", "department", "embedding", "updated_at")
        for pk, code, name, department, embedding, updated_at in rows.iterator(chunk_size=2000):
            vector = normalise(np.frombuffer(bytes(embedding), dtype="<f4"))
            row = self._row_of.get(pk)
            if row is None:
                row = self._append_row(vector.shape[0])
                self._row_of[pk] = row
                self._codes.append(code)
                self._names.append(name)
                self._departments.append(department)
            else:
                self._codes[row], self._names[row], self._departments[row] = code, name, department
            self._matrix[row] = vector
            self._ids[row] = pk
            if self._latest is None or updated_at > self._latest:
                self._latest = updated_at

    def _append_row(self, dimension: int) -> int:
        if self._size == self._matrix.shape[0]:  # grow by doubling: bulk imports stay linear
            capacity = max(1024, 2 * self._matrix.shape[0])
            matrix = np.zeros((capacity, dimension), dtype=np.float32)
            if self._size:
                matrix[: self._size] = self._matrix[: self._size]
            ids = np.zeros(capacity, dtype=np.int64)
            ids[: self._size] = self._ids[: self._size]
            self._matrix, self._ids = matrix, ids
        self._size += 1
        return self._size - 1

    def search(self, vector: np.ndarray, k: int = 1, department: str | None = None,
               exclude_id: int | None = None) -> list[Match]:
        self.refresh()
        with self._lock:
            if self._size == 0:
                return []
            scores = self._matrix[: self._size] @ normalise(vector)
            if department is not None:
                scores = np.where(np.asarray(self._departments) == department, scores, -np.inf)
            if exclude_id is not None and exclude_id in self._row_of:
                scores[self._row_of[exclude_id]] = -np.inf
            k = min(k, self._size)
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top])]
            return [
                Match(int(self._ids[i]), self._codes[i], self._names[i], self._departments[i],
                      round(float(np.clip(scores[i], 0.0, 1.0)), 6))
                for i in top if np.isfinite(scores[i])
            ]

    def gallery_size(self, department: str | None = None) -> int:
        self.refresh()
        if department is None:
            return self._size
        return self._departments.count(department)


class PgVectorIndex:
    """Approximate nearest neighbours in PostgreSQL (pgvector HNSW on cosine distance)."""

    def __init__(self, model_name: str):
        from . import pgvector

        if model_name not in pgvector.INDEXED:
            raise LookupError(f"no pgvector index for model {model_name!r}; add it to pgvector.INDEXED")
        self.model_name = model_name
        self.dimension = pgvector.INDEXED[model_name]

    def search(self, vector: np.ndarray, k: int = 1, department: str | None = None,
               exclude_id: int | None = None) -> list[Match]:
        from . import pgvector

        return [
            Match(pk, code, name, dept, round(float(np.clip(sim, 0.0, 1.0)), 6))
            for pk, code, name, dept, sim in pgvector.nearest(
                normalise(vector), self.model_name, self.dimension, k, department, exclude_id)
        ]

    def gallery_size(self, department: str | None = None) -> int:
        queryset = FaceEntry.objects.with_model(self.model_name)
        return queryset.filter(department=department).count() if department is not None else queryset.count()


_indexes: dict[tuple, object] = {}
_indexes_lock = threading.Lock()


def get_index(model_name: str):
    """Return this process's index for a model, by the SEARCH_BACKEND setting."""
    backend = conf.get("SEARCH_BACKEND")
    if backend == "auto":
        from . import pgvector

        backend = "pgvector" if pgvector.available() and model_name in pgvector.INDEXED else "exact"
    key = (backend, model_name, connection.alias, connection.settings_dict["NAME"])
    with _indexes_lock:
        if key not in _indexes:
            _indexes[key] = PgVectorIndex(model_name) if backend == "pgvector" else ExactIndex(model_name)
        return _indexes[key]

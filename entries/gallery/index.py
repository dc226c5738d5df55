"""Nearest-face search behind one interface; the database stays the single source of truth.

An employee may have several photos: every photo is a row, and an employee scores as their
best-matching photo (measured on lfw-dev to beat one photo and a mean template; docs/decisions/0001).

- ExactIndex: a normalised float32 matrix in each process. Before each search it reads the
  gallery state (one primary-key lookup, renewed by every write); when it changed, it re-reads
  the entries changed since, with all their photos (or everything, after deletions). So every
  gunicorn worker sees an entry registered or deleted through any other on its next search.
  Exact; fine to about a million faces.
- PgVectorIndex: on PostgreSQL with the pgvector extension, an HNSW index in the database itself
  (table face_vectors, kept in step with faceEntries in the same transaction).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.db import connection
from django.db.models import Max

from .. import conf
from ..models import FaceEntry, FacePhoto, GalleryState, photos_of_model
from ..recognition import registry, vectors
from . import pgvector

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
        return vectors.distance(self.similarity)


class ExactIndex:
    """All faces of one model as a matrix; cosine similarity by one matrix-vector product."""

    def __init__(self, model_name: str):
        self.model_name = model_name
        self._lock = threading.Lock()
        self._state: str | None = None
        self._reset()

    def _reset(self):
        self._size = 0
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._ids = np.zeros(0, dtype=np.int64)  # entry of each row, numbered densely (ids may be ObjectIds)
        self._number_of: dict = {}  # entry id -> its number in _ids
        self._entry_of: list = []  # number -> entry id
        self._codes: list[str] = []
        self._names: list[str] = []
        self._departments: list[str] = []
        self._row_of: dict[tuple, int] = {}  # (entry id, photo id; 0 = main photo) -> row
        self._latest = None

    def _entries(self):
        return FaceEntry.objects.with_model(self.model_name)

    def _photos(self):
        return FacePhoto.objects.filter(embedding_model=self.model_name)

    def refresh(self) -> None:
        """Bring the matrix up to date with the database (one primary-key read when nothing changed)."""
        state = GalleryState.current()
        if state == self._state:
            return
        fingerprint = FaceEntry.objects.aggregate(latest=Max("updated_at"))
        total = self._entries().count() + self._photos().count()
        with self._lock:
            if self._latest is not None and total >= self._size:
                since = self._latest - REFRESH_MARGIN
                self._load(self._entries().filter(updated_at__gte=since),
                           self._photos().filter(entry__updated_at__gte=since))
            if self._latest is None or self._size != total:  # first load, or photos deleted
                self._reset()
                self._load(self._entries(), self._photos())
            self._latest = fingerprint["latest"] or self._latest
            self._state = state

    def _load(self, entries, photos) -> None:
        rows = entries.values_list("id", "employee_code", "name", "department", "embedding")
        for pk, code, name, department, embedding in rows.iterator(chunk_size=2000):
            self._put((pk, 0), pk, code, name, department, embedding)
        rows = photos.values_list("id", "entry_id", "entry__employee_code", "entry__name", "entry__department",
                                  "embedding")
        for pk, entry_id, code, name, department, embedding in rows.iterator(chunk_size=2000):
            self._put((entry_id, pk), entry_id, code, name, department, embedding)

    def _put(self, key, entry_id, code, name, department, embedding) -> None:
        vector = vectors.normalise(vectors.from_bytes(embedding))
        row = self._row_of.get(key)
        if row is None:
            row = self._append_row(vector.shape[0])
            self._row_of[key] = row
            self._codes.append(code)
            self._names.append(name)
            self._departments.append(department)
        else:
            self._codes[row], self._names[row], self._departments[row] = code, name, department
        self._matrix[row] = vector
        self._ids[row] = self._number(entry_id)

    def _number(self, entry_id) -> int:
        number = self._number_of.get(entry_id)
        if number is None:
            number = self._number_of[entry_id] = len(self._entry_of)
            self._entry_of.append(entry_id)
        return number

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
        """The k most similar employees (each by their best photo), most similar first."""
        self.refresh()
        with self._lock:
            if self._size == 0:
                return []
            scores = self._matrix[: self._size] @ vectors.normalise(vector)
            if department is not None:
                scores = np.where(np.asarray(self._departments) == department, scores, -np.inf)
            if exclude_id is not None and exclude_id in self._number_of:
                scores = np.where(self._ids[: self._size] == self._number_of[exclude_id], -np.inf, scores)
            matches: dict[int, Match] = {}
            wanted = min(self._size, 4 * k + 8)
            while True:  # best rows first until k different employees are found
                top = np.argpartition(-scores, wanted - 1)[:wanted]
                for i in top[np.argsort(-scores[top])]:
                    if np.isfinite(scores[i]) and int(self._ids[i]) not in matches:
                        matches[int(self._ids[i])] = Match(
                            self._entry_of[self._ids[i]], self._codes[i], self._names[i], self._departments[i],
                            vectors.answer(scores[i]))
                if len(matches) >= k or wanted == self._size:
                    return list(matches.values())[:k]
                matches.clear()
                wanted = min(self._size, wanted * 4)

    def gallery_size(self, department: str | None = None) -> int:
        """Employees searched."""
        self.refresh()
        if department is None:
            return len(self._entry_of)
        return len(np.unique(self._ids[: self._size][np.asarray(self._departments) == department]))

    def photo_count(self, department: str | None = None) -> int:
        """Photos searched: each is a chance for a stranger to match, so thresholds are set for this many."""
        self.refresh()
        if department is None:
            return self._size
        return self._departments.count(department)


class PgVectorIndex:
    """Approximate nearest neighbours in PostgreSQL (pgvector HNSW on cosine distance)."""

    def __init__(self, model_name: str):
        self.model_name = model_name
        self.dimension = registry.get(model_name).dimension  # its HNSW index's

    def search(self, vector: np.ndarray, k: int = 1, department: str | None = None,
               exclude_id: int | None = None) -> list[Match]:
        return [
            Match(pk, code, name, dept, vectors.answer(sim))
            for pk, code, name, dept, sim in pgvector.nearest(
                vectors.normalise(vector), self.model_name, self.dimension, k, department, exclude_id)
        ]

    def gallery_size(self, department: str | None = None) -> int:
        queryset = FaceEntry.objects.with_model(self.model_name)
        return queryset.filter(department=department).count() if department is not None else queryset.count()

    def photo_count(self, department: str | None = None) -> int:
        return photos_of_model(self.model_name, department)


_indexes: dict[tuple, object] = {}
_indexes_lock = threading.Lock()


def get_index(model_name: str):
    """Return this process's index for a model, by the SEARCH_BACKEND setting."""
    backend = conf.get("SEARCH_BACKEND")
    if backend == "auto":
        backend = "pgvector" if pgvector.available() and model_name in registry.models() else "exact"
    key = (backend, model_name, connection.alias, connection.settings_dict["NAME"])
    with _indexes_lock:
        if key not in _indexes:
            _indexes[key] = PgVectorIndex(model_name) if backend == "pgvector" else ExactIndex(model_name)
        return _indexes[key]

"""Identify (1:N) and verify (1:1): photo in, decisions out."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import conf
from .exceptions import NoFaceFound, StaleEmbedding
from .models import FaceEntry
from .recognition import calibration, faces
from .recognition.search import Match, get_index, similarity_of


@dataclass
class FaceResult:
    box: tuple[int, int, int, int]
    candidates: list[Match]
    threshold: float
    match: Match | None = field(init=False)

    def __post_init__(self):
        best = self.candidates[0] if self.candidates else None
        self.match = best if best and best.similarity >= self.threshold else None

    @property
    def decision(self) -> str:
        return self.match.employee_code if self.match else "unknown"


@dataclass
class Identification:
    faces: list[FaceResult]
    model_name: str
    gallery_size: int
    threshold: float


def index():
    return get_index(conf.get("MODEL"))


def identify(*, image: bytes, k: int = 3, threshold: float | None = None, department: str | None = None,
             max_faces: int = 10) -> Identification:
    """Find who each face in a photo is (largest faces first), or 'unknown'."""
    _, found = faces.detect(image)
    if not found:
        raise NoFaceFound("No face was found in the photo.")
    search = index()
    model = faces.get_engine().model_name
    gallery_size = search.gallery_size(department)
    if threshold is None:
        threshold = calibration.identify_threshold(model, gallery_size)
    results = [
        FaceResult(face.box, search.search(face.embedding, k=k, department=department), threshold)
        for face in found[:max_faces]
    ]
    return Identification(results, model, gallery_size, threshold)


@dataclass
class Verification:
    entry: FaceEntry
    box: tuple[int, int, int, int]
    similarity: float
    threshold: float

    @property
    def match(self) -> bool:
        return self.similarity >= self.threshold

    @property
    def distance(self) -> float:
        return round(1.0 - self.similarity, 6)


def verify(*, image: bytes, entry: FaceEntry, threshold: float | None = None) -> Verification:
    """Whether the largest face in a photo is this employee's."""
    _, found = faces.detect(image)
    if not found:
        raise NoFaceFound("No face was found in the photo.")
    model = faces.get_engine().model_name
    if entry.embedding_model != model:
        raise StaleEmbedding(
            f"{entry.employee_code}'s embedding was made by {entry.embedding_model}, not {model}; "
            "run `manage.py reembed`.", employee_code=entry.employee_code,
        )
    if threshold is None:
        threshold = calibration.verify_threshold(model)
    similarity = round(similarity_of(found[0].embedding, entry.vector), 6)
    return Verification(entry, found[0].box, similarity, threshold)


def duplicate_of(face: faces.FaceAnalysis, *, exclude_id: int | None = None) -> Match | None:
    """Another employee whose face matches this one as identify would decide, or None."""
    search = index()
    threshold = calibration.identify_threshold(face.model_name, max(1, search.gallery_size()))
    best = search.search(face.embedding, k=1, exclude_id=exclude_id)
    return best[0] if best and best[0].similarity >= threshold else None

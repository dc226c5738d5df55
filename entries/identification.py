"""Identify (1:N) and verify (1:1): photo in, decisions with calibrated confidences out.

A photo with no face raises NoFaceFound, which callers in other apps catch as `identification.NoFaceFound`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core.audit import Action, emit

from . import conf
from .exceptions import NoFaceFound, StaleEmbedding, UnknownDepartment
from .gallery.index import Match, get_index
from .models import FaceEntry
from .recognition import calibration, faces, vectors


@dataclass
class FaceResult:
    box: tuple[int, int, int, int]
    candidates: list[Match]
    threshold: float
    model_name: str
    searched: int  # photos compared: what the threshold and the confidence are calibrated for
    match: Match | None = field(init=False)
    confidence: float = field(init=False)

    def __post_init__(self):
        best = self.candidates[0] if self.candidates else None
        self.match = best if best and best.similarity >= self.threshold else None
        self.confidence = calibration.identify_confidence(
            self.model_name, best.similarity if best else None, self.searched, self.match is not None)

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


def departments() -> list[str]:
    """The departments employees are enrolled in, for filters."""
    return sorted(set(FaceEntry.objects.exclude(department="").values_list("department", flat=True)))


def department_named(name: str) -> str:
    """The department as stored, matched ignoring case; one nobody is enrolled in is refused.

    If two spellings differ only in case, the exact one wins, else the first in order.
    """
    known = departments()
    if name in known:
        return name
    for department in known:
        if department.casefold() == name.strip().casefold():
            return department
    raise UnknownDepartment(f"Nobody is enrolled in department {name!r}.", department=name, departments=known)


def identify(*, image: bytes, k: int = 3, threshold: float | None = None, department: str | None = None,
             max_faces: int = 10, record: bool = True) -> Identification:
    """Find who each face in a photo is (the largest `max_faces` faces, largest first), or 'unknown'.

    A department limits the search to it (see department_named). record=False leaves the audit event to the
    caller: a kiosk records the clocking, not every frame.
    """
    if department is not None:
        department = department_named(department)
    _, found = faces.find(image, limit=max_faces)
    if not found:
        raise NoFaceFound("No face was found in the photo.")
    search = index()
    model = conf.get("MODEL")
    gallery_size, searched = search.gallery_size(department), search.photo_count(department)
    if threshold is None:
        threshold = calibration.identify_threshold(model, searched)
    results = [
        FaceResult(face.box, search.search(face.embedding, k=k, department=department), threshold, model, searched)
        for face in found
    ]
    if record:
        emit(Action.IDENTIFY, sender=FaceEntry, employee_codes=[r.match.employee_code for r in results if r.match],
             decisions=[r.decision for r in results], gallery_size=gallery_size, department=department)
    return Identification(results, model, gallery_size, threshold)


def _similarity(templates: Sequence[np.ndarray], embedding: np.ndarray) -> float:
    """A face's similarity to an employee: to the best-matching of their photos."""
    return vectors.answer(max(float(t @ embedding) for t in templates))


@dataclass
class FramesIdentification:
    """One attempt's frames of one person (a kiosk's liveness answer), identified together.

    `face` is the identification of the frames' mean embedding (None when a frame shows no face); `similarities`
    each frame's similarity to the employee found, by their best photo (empty when nobody was found).
    """

    face: FaceResult | None
    similarities: list[float]
    verify_threshold: float

    @property
    def match(self) -> Match | None:
        """The employee found, if every frame is theirs at the 1:1 threshold."""
        match = self.face.match if self.face and self.similarities else None
        return match if match and min(self.similarities) >= self.verify_threshold else None

    @property
    def stand_in(self) -> Match | None:
        """The employee the frames' mean is, when a frame is not them: someone stood in during the attempt."""
        return self.face.match if self.face and self.similarities and self.match is None else None

    @property
    def confidence(self) -> float:
        return self.face.confidence if self.face else 0.0


def identify_frames(*, images: Sequence[bytes]) -> FramesIdentification:
    """Identify the person in several frames of one attempt by the mean of their faces' embeddings.

    Frames of one person differ in pose, light and blur, and their mean is nearer that person's template than
    most single frames: on lfw-dev, two photos of a person fused so find 0.990 of 882 enrolled people where the
    first alone finds 0.943 (docs/recognition.md, "Levers"). Each frame is then checked against the employee
    found at the 1:1 threshold, so nobody stands in for them during the attempt. Nothing is audited here: the
    caller records its decision.
    """
    model = conf.get("MODEL")
    verify_threshold = calibration.verify_threshold(model)
    found = [faces.find(image, limit=1)[1] for image in images]
    if not all(found):
        return FramesIdentification(None, [], verify_threshold)
    embeddings = [face[0].embedding for face in found]
    search = index()
    searched = search.photo_count()
    face = FaceResult(found[0][0].box, search.search(np.mean(embeddings, axis=0), k=1),
                      calibration.identify_threshold(model, searched), model, searched)
    entry = FaceEntry.objects.filter(employee_code=face.match.employee_code).first() if face.match else None
    templates = entry.templates(model) if entry else []
    if not templates:  # nobody found, or deleted since the search
        return FramesIdentification(face, [], verify_threshold)
    similarities = [_similarity(templates, embedding) for embedding in embeddings]
    return FramesIdentification(face, similarities, verify_threshold)


@dataclass
class Verification:
    entry: FaceEntry
    box: tuple[int, int, int, int]
    similarity: float
    threshold: float
    model_name: str

    @property
    def match(self) -> bool:
        return self.similarity >= self.threshold

    @property
    def distance(self) -> float:
        return vectors.distance(self.similarity)

    @property
    def confidence(self) -> float:
        return calibration.verify_confidence(self.model_name, self.similarity, self.match)


def verify(*, image: bytes, entry: FaceEntry, threshold: float | None = None) -> Verification:
    """Whether the largest face in a photo is this employee's (scored against each of their photos)."""
    model = conf.get("MODEL")
    templates = entry.templates(model)
    if not templates:
        raise StaleEmbedding(
            f"{entry.employee_code}'s photos were embedded by {entry.embedding_model}, not {model}; "
            "run `manage.py reembed`.", employee_code=entry.employee_code,
        )
    _, found = faces.find(image, limit=1)
    if not found:
        raise NoFaceFound("No face was found in the photo.")
    if threshold is None:
        threshold = calibration.verify_threshold(model)
    similarity = _similarity(templates, found[0].embedding)
    result = Verification(entry, found[0].box, similarity, threshold, model)
    emit(Action.VERIFY, sender=FaceEntry, employee_codes=[entry.employee_code], match=result.match,
         similarity=similarity)
    return result


@dataclass(frozen=True)
class DuplicateCheck:
    """The employee nearest to a face being enrolled, and the duplicate-face guard's two thresholds.

    From identify's threshold (identify could take one for the other) to refuse_at (set by
    FACEREC_DUPLICATE_FPIR) the face is only alike enough for HR to look: it registers, flagged.
    """

    nearest: Match | None
    warn_at: float
    refuse_at: float

    @property
    def refused(self) -> Match | None:
        """The employee whose face this is, as the guard decides: registering it is refused."""
        return self.nearest if self.nearest and self.nearest.similarity >= self.refuse_at else None

    @property
    def possible(self) -> Match | None:
        """The employee this face resembles without being refused: a possible duplicate for HR."""
        nearest = self.nearest
        return nearest if nearest and self.warn_at <= nearest.similarity < self.refuse_at else None


def duplicate_check(face: faces.FaceAnalysis, *, exclude_id: int | None = None) -> DuplicateCheck:
    """How near this face is to another employee's (photos of the entry `exclude_id` aside)."""
    search = index()
    size = max(1, search.photo_count())
    best = search.search(face.embedding, k=1, exclude_id=exclude_id)
    return DuplicateCheck(best[0] if best else None, calibration.identify_threshold(face.model_name, size),
                          calibration.duplicate_threshold(face.model_name, size))

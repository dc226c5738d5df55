"""From photo bytes to face embeddings: decode, detect, choose, measure, thumbnail.

Kept free of models and the ORM so bulk-import worker processes can use it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import conf
from ..exceptions import EngineUnavailable, ImageTooSmall, MultipleFacesFound, NoFaceFound, TooManyFaces
from . import images, quality

if TYPE_CHECKING:
    from .engine import Detection, Engine


@dataclass(frozen=True)
class FaceAnalysis:
    """Everything a face entry stores about its photo."""

    image: bytes
    mime_type: str
    sha256: str
    embedding: np.ndarray
    model_name: str
    box: tuple[int, int, int, int]
    thumbnail: bytes
    quality: quality.Quality | None = None


@dataclass(frozen=True)
class FoundFace:
    """A face to search for: its box in photo pixels and its embedding."""

    box: tuple[int, int, int, int]
    embedding: np.ndarray


def box_dict(box: Sequence[int]) -> dict[str, int]:
    """A face box (x, y, w, h) as the API and error details show it."""
    return dict(zip("xywh", box, strict=True))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def get_engine() -> Engine:
    """Return this process's engine for the configured model (loaded on first use)."""
    from .engine import get_engine as load
    from .models import EngineUnavailable as Unloadable

    try:
        return load(conf.get("MODEL"), conf.get("DETECT_MAX_SIDE"), conf.get("DETECT_UPSAMPLE"),
                    conf.get("MODELS_DIR"), conf.get("DETECT_FALLBACK_MAX_SIDE"), detector())
    except Unloadable as exc:
        raise EngineUnavailable(f"The face engine cannot load: {exc}.") from exc


def detector() -> str:
    """The configured first detector, else the one the model was measured best with (docs/recognition.md)."""
    return conf.get("DETECTOR") or ("blazeface" if conf.get("MODEL") == "MobileFaceNet" else "hog")


# Aligned crops put about 35 (MobileFaceNet) to 45 (Dlib) pixels between the eyes: a face with fewer
# in the decoded photo is aligned from a full-resolution decode instead.
MIN_DECODED_EYE_DISTANCE = 48
# dlib's detectors find no face in a photo under about 40 px a side (a tightly cropped face scaled down: found
# at 40 px, never at 36): smaller photos are refused before any detector sees them.
MIN_IMAGE_SIDE = 32


def _detect(data: bytes, limit: int | None, face_box: Sequence[int] | None = None,
            ) -> tuple[images.Photo, list[Detection], list[Detection]]:
    """Decode only as finely as detection needs, and finer only if a chosen face needs it for alignment.

    Returns the photo, every detection (largest first, or the one at face_box first) and the ones to embed; with
    limit 1 the engine looks for the largest face only (FACEREC_DETECTOR: BlazeFace's short range), and "every" is
    then every face it sees. A photo refused for its bytes or its size is refused before the engine is loaded.
    """
    photo = images.decode(data, keep_side=conf.get("DETECT_MAX_SIDE"))
    width, height = photo.size
    if min(width, height) < MIN_IMAGE_SIDE:
        raise ImageTooSmall(f"The image is {width}x{height} pixels; a face can only be found in a photo at least "
                            f"{MIN_IMAGE_SIDE} pixels on each side.", width=width, height=height,
                            min_side=MIN_IMAGE_SIDE)
    detections = get_engine().detect(photo.rgb, all_faces=limit != 1)
    most = conf.get("MAX_FACES_PER_PHOTO")
    if len(detections) > most:
        raise TooManyFaces(f"{len(detections)} faces were found in the photo; at most {most} are analysed.",
                           count=len(detections), limit=most)
    if face_box is not None:
        detections = _first(detections, [photo.to_photo(d.box) for d in detections], face_box)
    chosen = detections[:limit]
    if photo.scale > 1 and any(d.eye_distance < MIN_DECODED_EYE_DISTANCE for d in chosen):
        full = images.decode(data)
        ratio = photo.scale / full.scale
        photo, detections = full, [d.scaled(ratio) for d in detections]
        chosen = detections[:limit]
    return photo, detections, chosen


# How much of a chosen face box a detection must share (intersection over union) to be that face: boxes HR picked
# from come from the same photo and detector, so they agree to the pixel; this only absorbs rounding.
MIN_CHOSEN_OVERLAP = 0.5


def overlap(a: Sequence[int], b: Sequence[int]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0, width) * max(0, height)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _first(detections: list[Detection], boxes: list[tuple[int, int, int, int]],
           face_box: Sequence[int]) -> list[Detection]:
    """The detections with the one at face_box (in photo pixels) first, or NoFaceFound if none is there."""
    scores = [overlap(box, face_box) for box in boxes]
    if not scores or max(scores) < MIN_CHOSEN_OVERLAP:
        x, y, w, h = face_box
        raise NoFaceFound(f"No face was found at the chosen place (x={x} y={y} {w}x{h}px). Choose one of the "
                          "faces found in the photo.", box=box_dict(face_box))
    best = scores.index(max(scores))
    return [detections[best], *detections[:best], *detections[best + 1:]]


def find(data: bytes, *, limit: int) -> tuple[list[tuple[int, int, int, int]], list[FoundFace]]:
    """Every face's box (largest first) and the embeddings of the largest `limit` of them."""
    photo, detections, chosen = _detect(data, limit)
    embedded = get_engine().embed(photo.rgb, chosen)
    boxes = [photo.to_photo(d.box) for d in detections]
    return boxes, [FoundFace(photo.to_photo(f.box), f.embedding) for f in embedded]


def analyse(data: bytes, *, largest_face: bool = False, check_quality: bool = True,
            face_box: Sequence[int] | None = None) -> FaceAnalysis:
    """Return the embedding of the one face in a photo, ready to enrol.

    Raise NoFaceFound (ImageTooSmall for a tiny photo), MultipleFacesFound unless largest_face asks to take
    the largest or face_box (x, y, w, h in photo pixels, one of MultipleFacesFound's boxes) picks one, or
    PoorFaceQuality when the face is too small, blurred or turned (unless check_quality is off).
    """
    photo, detections, _ = _detect(data, 1, face_box)
    engine = get_engine()
    if not detections:
        raise NoFaceFound("No face was found in the photo. Use a clear, front-facing photo of one person.")
    if len(detections) > 1 and not largest_face and face_box is None:
        boxes = [box_dict(photo.to_photo(d.box)) for d in detections]
        raise MultipleFacesFound(
            f"{len(detections)} faces were found in the photo (at {_describe(boxes)}); "
            "use a photo of one person, or ask for the largest face.",
            count=len(detections), boxes=boxes,
        )
    measured = quality.measure(photo.rgb, detections[0], photo.scale)
    if check_quality:
        quality.check(measured)
    embedded = engine.embed(photo.rgb, detections[:1])
    if not embedded:
        raise NoFaceFound("The face in the photo could not be aligned. Use a clear, front-facing photo of one person.")
    (face,) = embedded
    return FaceAnalysis(
        image=photo.data,
        mime_type=photo.mime_type,
        sha256=digest(photo.data),
        embedding=face.embedding,
        model_name=engine.model_name,
        box=photo.to_photo(face.box),
        thumbnail=images.thumbnail(photo.rgb, face.box, conf.get("THUMBNAIL_SIZE")),
        quality=measured,
    )


def _describe(boxes: list[dict[str, int]]) -> str:
    return ", ".join(f"x={b['x']} y={b['y']} {b['w']}x{b['h']}px" for b in boxes)

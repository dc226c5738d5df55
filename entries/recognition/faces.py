"""From photo bytes to one face embedding: decode, detect, choose, thumbnail.

Kept free of models and the ORM so bulk-import worker processes can use it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np

from .. import conf
from ..exceptions import MultipleFacesFound, NoFaceFound
from . import images


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


def box_dict(box) -> dict[str, int]:
    """A face box (x, y, w, h) as the API and error details show it."""
    return dict(zip("xywh", box, strict=True))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def get_engine():
    """Return this process's engine for the configured model (loaded on first use)."""
    from .engine import get_engine as load

    return load(conf.get("MODEL"), conf.get("DETECT_MAX_SIDE"), conf.get("DETECT_UPSAMPLE"))


def detect(data: bytes):
    """Decode a photo and return it with every face in it, largest first, boxed in photo pixels."""
    engine = get_engine()
    # Decoding at twice the detection size keeps faces sharp enough for the 150 px chip.
    photo = images.decode(data, keep_side=2 * engine.detect_max_side)
    found = [replace(face, box=photo.to_photo(face.box)) for face in engine.faces(photo.rgb)]
    return photo, found


def analyse(data: bytes, *, largest_face: bool = False) -> FaceAnalysis:
    """Return the embedding of the one face in a photo.

    Raise NoFaceFound, or MultipleFacesFound unless largest_face asks to take the largest.
    """
    photo, faces = detect(data)
    if not faces:
        raise NoFaceFound("No face was found in the photo. Use a clear, front-facing photo of one person.")
    if len(faces) > 1 and not largest_face:
        boxes = [box_dict(face.box) for face in faces]
        raise MultipleFacesFound(
            f"{len(faces)} faces were found in the photo (at {_describe(faces)}); "
            "use a photo of one person, or ask for the largest face.",
            count=len(faces), boxes=boxes,
        )
    face = faces[0]
    return FaceAnalysis(
        image=photo.data,
        mime_type=photo.mime_type,
        sha256=digest(photo.data),
        embedding=face.embedding,
        model_name=get_engine().model_name,
        box=face.box,
        thumbnail=images.thumbnail(photo.rgb, photo.to_decoded(face.box), conf.get("THUMBNAIL_SIZE")),
    )


def _describe(faces) -> str:
    return ", ".join(f"x={f.box[0]} y={f.box[1]} {f.box[2]}x{f.box[3]}px" for f in faces)

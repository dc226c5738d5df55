"""Test data. `register` enrols a real photo through the face engine; the rest build entries without it.

A prepared face stands for what the engine would make of one photo of a person: a small JPEG of its own
(so its SHA-256 is its own) and a unit-norm 192-d embedding drawn from the person's name, the same in every
run. Different people are as far apart as random vectors (cosine about 0 ± 0.07, under every identify
threshold); photos of one person agree as a real person's photos do (cosine about 0.96). The services take
such a face as it is (`face=`), and the `prepared_faces` fixture answers for these photos when they come in
through the API, the admin or a kiosk instead.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image, ImageDraw

from entries import conf, services
from entries.models import FaceEntry, FacePhoto
from entries.recognition import faces

DIMENSION = 192  # MobileFaceNet's, the configured model in tests
SAME_PERSON_NOISE = 0.3  # how far one photo of a person is from another: cosine 1 / sqrt(1 + 0.3²) ≈ 0.96
BOX = (24, 24, 80, 80)  # x, y, w, h of the face in every prepared photo

_prepared: dict[str, faces.FaceAnalysis | None] = {}  # by SHA-256 of the photo; None: a photo with no face


def register(photo, code="E001", image="img1.jpg", **fields):
    """Enrol a shared real photo (needs the engine: only for tests whose claim is recognition)."""
    fields.setdefault("name", f"Employee {code}")
    fields.setdefault("consent_reference", f"consent form {code}")
    return services.entry_register(employee_code=code, image=photo(image), **fields)


def _rng(*parts: object) -> np.random.Generator:
    seed = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(seed[:8], "big"))


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def embedding(person: str, number: int = 0) -> np.ndarray:
    """The embedding of photo `number` of a person: unit-norm, the same in every run."""
    vector = _unit(_rng("person", person).standard_normal(DIMENSION))
    if number:
        noise = _unit(_rng("photo", person, number).standard_normal(DIMENSION))
        vector = _unit(vector + SAME_PERSON_NOISE * noise)
    return vector


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _picture(*parts: object) -> Image.Image:
    """A 128x128 picture of its own: a colour, a text and sensor noise that no other parts give.

    The noise is the fine detail by which a kiosk tells a new capture from a frame sent again.
    """
    rng = _rng("picture", *parts)
    pixels = rng.integers(40, 216, 3) + rng.normal(0, 12, (128, 128, 3))
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    ImageDraw.Draw(image).text((4, 4), "/".join(map(str, parts))[:20], fill=(255, 255, 255))
    return image


def face(person: str = "ann", number: int = 0) -> faces.FaceAnalysis:
    """Photo `number` of a person, analysed as the engine would (one face, its box, thumbnail and embedding)."""
    return _analysed(_picture("face", person, number), embedding(person, number))


def lookalike(person: str, similarity: float, number: int = 0) -> faces.FaceAnalysis:
    """Photo `number` of someone else whose face is `similarity` (cosine) like photo 0 of `person`.

    For the duplicate-face guard's thresholds: a face just above, inside or below a band.
    """
    target = embedding(person).astype(np.float64)
    other = _rng("lookalike", person, similarity, number).standard_normal(DIMENSION)
    other = other - (other @ target) * target
    vector = similarity * target + np.sqrt(1 - similarity ** 2) * other / np.linalg.norm(other)
    return _analysed(_picture("lookalike", person, similarity, number), _unit(vector))


def _analysed(picture: Image.Image, vector: np.ndarray) -> faces.FaceAnalysis:
    data = _jpeg(picture)
    analysis = faces.FaceAnalysis(
        image=data, mime_type="image/jpeg", sha256=faces.digest(data), embedding=vector,
        model_name=conf.get("MODEL"), box=BOX, thumbnail=_jpeg(picture.resize((64, 64))))
    _prepared[analysis.sha256] = analysis
    return analysis


def face_photo(person: str = "ann", number: int = 0) -> bytes:
    """The bytes of photo `number` of a person, as a client uploads them."""
    return face(person, number).image


def no_face_photo(number: int = 0) -> bytes:
    """A photo in which the engine finds no face (as a kiosk sees an empty doorway)."""
    data = _jpeg(_picture("no face", number))
    _prepared[faces.digest(data)] = None
    return data


def prepared(data: bytes) -> tuple[bool, faces.FaceAnalysis | None]:
    """(whether these bytes are a prepared photo, its face or None when it has none)."""
    sha256 = faces.digest(data)
    return sha256 in _prepared, _prepared.get(sha256)


def entry(code: str = "E001", person: str | None = None, *, photos: int = 1, **fields) -> FaceEntry:
    """An enrolled employee (through entries.services, audited as any enrolment) with `photos` prepared photos.

    The person defaults to the code: different codes are different faces.
    """
    person = person or code
    fields.setdefault("name", f"Employee {code}")
    fields.setdefault("consent_reference", f"consent form {code}")
    main = face(person)
    enrolled = services.entry_register(employee_code=code, image=main.image, face=main, **fields)
    for number in range(1, photos):
        extra_photo(enrolled, number, person)
    return enrolled


def extra_photo(entry: FaceEntry, number: int, person: str | None = None) -> FacePhoto:
    """Enrol prepared photo `number` of a person (by default the entry's code, as `entry` has it) as one more photo."""
    extra = face(person or entry.employee_code, number)
    return services.photo_add(entry=entry, image=extra.image, face=extra)


def encode(image: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    """An image's bytes in a format (JPEG by default), as a client would send them."""
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()

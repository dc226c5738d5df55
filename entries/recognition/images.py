"""Photo decoding: trust the bytes, not the file name or declared type.

JPEG (MPO too: what many phones and cameras write, read as its first frame), PNG, WebP and
HEIC/HEIF (iPhones, through pillow-heif). 16-bit photos are scaled to 8 bits, not clipped.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image, ImageOps

from core.exceptions import ImageTooLarge
from core.uploads import check_size

from .. import conf
from ..exceptions import InvalidImage

OPENERS = ["JPEG", "PNG", "WEBP", "HEIF"]  # Pillow's JPEG opener also reads MPO
ALLOWED_FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
                   "HEIF": "image/heif"}
WIDE_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}  # 16- or 32-bit integer grey
_heif_registered = False


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _heif_registered = True


@dataclass(frozen=True)
class Photo:
    """A decoded photo: upright RGB pixels plus what is needed to store it."""

    data: bytes
    mime_type: str
    rgb: np.ndarray
    scale: float = 1.0  # photo pixels per decoded pixel (JPEGs may be decoded smaller)

    @property
    def size(self) -> tuple[int, int]:
        """Width and height in the photo's own pixels."""
        height, width = self.rgb.shape[:2]
        return round(width * self.scale), round(height * self.scale)

    def to_photo(self, box: Sequence[float]) -> tuple[int, int, int, int]:
        """A box in decoded pixels, in the photo's own pixels."""
        x, y, w, h = (round(v * self.scale) for v in box)
        return x, y, w, h


def decode(data: bytes, keep_side: int | None = None) -> Photo:
    """Decode JPEG, MPO, PNG, WebP or HEIC bytes to upright RGB, or raise InvalidImage / ImageTooLarge.

    With keep_side, a large photo is decoded only as finely as that long side needs: a JPEG at 1/2, 1/4
    or 1/8 scale (DCT scaling, far cheaper than decoding in full); PNG, WebP and HEIC have no such
    decoding, so they are decompressed in full (hence their lower pixel cap) and reduced before any
    conversion.
    """
    check_size(data)
    if not data:
        raise InvalidImage("The image is empty.")
    max_pixels = conf.get("MAX_IMAGE_PIXELS")
    _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data), formats=OPENERS)
            _check_pixels(image, max_pixels)
            mime_type = ALLOWED_FORMATS[image.format or ""]
            full_side = max(image.size)
            jpeg = image.format in ("JPEG", "MPO")
            if keep_side and jpeg:
                reduce = max((r for r in (1, 2, 4, 8) if full_side / r >= keep_side), default=1)
                if reduce > 1:
                    image.draft("RGB", (-(-image.width // reduce), -(-image.height // reduce)))
            ImageOps.exif_transpose(image, in_place=True)
            top = 65535.0 if image.mode.startswith("I;16") else None
            if image.mode in WIDE_MODES:
                image = image.convert("I")  # a mode reduce() takes
            elif image.mode in ("1", "P", "PA"):
                image = image.convert("RGB")  # palette indices cannot be averaged
            if keep_side and not jpeg and full_side // keep_side > 1:
                image = image.reduce(full_side // keep_side)
            image = _eight_bit(image, top) if image.mode == "I" else image
            image = image.convert("RGB")
    except ImageTooLarge:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(f"The image declares more than {max_pixels} pixels.", limit=max_pixels) from None
    except Image.UnidentifiedImageError:
        raise InvalidImage("The file is not a JPEG, PNG, WebP or HEIC image.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"The image could not be decoded: {exc}") from None
    return Photo(data=data, mime_type=mime_type, rgb=np.asarray(image), scale=full_side / max(image.size))


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    """Refuse more pixels than the cap, and for formats decompressed in full more than their own cap."""
    pixels = image.width * image.height
    if image.format not in ("JPEG", "MPO"):
        max_pixels = min(max_pixels, conf.get("MAX_FULL_DECODE_PIXELS"))
    if pixels > max_pixels:
        hint = "" if image.format in ("JPEG", "MPO") else (
            f" ({image.format} is decoded in full, so its limit is lower; a JPEG may have up to "
            f"{conf.get('MAX_IMAGE_PIXELS')})")
        raise ImageTooLarge(f"The image has {image.width}x{image.height} pixels; the limit is {max_pixels} "
                            f"pixels{hint}.", limit=max_pixels, format=image.format)


def _eight_bit(image: Image.Image, top: float | None) -> Image.Image:
    """A 16-bit (or wider) grey photo as 8-bit grey, its range (top, else its brightest pixel) scaled, not clipped."""
    pixels = np.asarray(image, dtype=np.float32)
    top = top or max(float(pixels.max()), 1.0)
    return Image.fromarray(np.clip(pixels * (255.0 / top), 0, 255).astype(np.uint8), "L")


def thumbnail(rgb: np.ndarray, box: tuple[int, int, int, int] | None, size: int) -> bytes:
    """Return a small JPEG of the face (with some margin), or of the whole photo without a box."""
    image = Image.fromarray(rgb)
    if box and box[2] > 0 and box[3] > 0:
        x, y, w, h = box
        margin = int(max(w, h) * 0.35)
        image = image.crop((max(0, x - margin), max(0, y - margin),
                            min(image.width, x + w + margin), min(image.height, y + h + margin)))
    image.thumbnail((size, size))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


class LabelledFace(Protocol):
    """A face as identify answers for it: where it is, and who (or "unknown")."""

    @property
    def box(self) -> tuple[int, int, int, int]: ...

    @property
    def match(self) -> object: ...

    @property
    def decision(self) -> str: ...


def annotate(data: bytes, faces: Iterable[LabelledFace], side: int = 1024) -> str:
    """Return the photo as a JPEG data URI (at most `side` pixels a side) with each face boxed and numbered.

    The label is the number and the face's decision; a face without a decision is only numbered.
    """
    import base64

    from PIL import ImageDraw, ImageFont

    photo = decode(data, keep_side=side)
    image = Image.fromarray(photo.rgb)
    display = min(1.0, side / max(image.size))
    if display < 1.0:
        image = image.resize((round(image.width * display), round(image.height * display)))
    scale = display / photo.scale  # face boxes are in the photo's own pixels
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(16, image.width // 40))  # Pillow's own font: legible at any size
    for number, face in enumerate(faces, start=1):
        x, y, w, h = (round(v * scale) for v in face.box)
        colour = (40, 167, 69) if face.match else (220, 53, 69)
        draw.rectangle((x, y, x + w, y + h), outline=colour, width=max(2, image.width // 300))
        label = f"{number}. {face.decision}" if face.decision else str(number)
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        above = max(0, y - bottom - 6)  # over the box, or inside it at the photo's top edge
        draw.rectangle((x, above, x + (right - left) + 6, above + bottom + 6), fill=colour)
        draw.text((x + 3 - left, above + 3), label, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")

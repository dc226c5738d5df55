"""Image bytes as every app takes them in: base64 text, and the one size limit (FACEREC_MAX_IMAGE_BYTES)."""

from . import conf
from .exceptions import ImageTooLarge


def base64_payload(text: str) -> str:
    """The base64 of an image sent as text: any `data:…;base64,` prefix and whitespace removed."""
    return "".join((text.partition(",")[2] if text.startswith("data:") else text).split())


def check_size(data: bytes) -> None:
    limit = conf.get("MAX_IMAGE_BYTES")
    if len(data) > limit:
        raise ImageTooLarge(
            f"The image is {len(data)} bytes; the limit is {limit} bytes.",
            size=len(data), limit=limit,
        )

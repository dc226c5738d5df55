"""Tell a new camera capture from a frame sent again (the same bytes, or decoded and re-encoded).

Two captures of a person holding still still differ: every pixel carries fresh sensor noise and the face moves
by a fraction of a pixel. A frame sent again differs only by what re-encoding changes. The test compares the
fine detail of the face (each pixel minus the mean of its neighbours, where both show up) at 1,024 fixed points of
the face box scaled to 128×128: a fingerprint of 2 KB that holds no picture of the face (its coarse structure,
what recognition uses, is subtracted), with the box, where the next frame is compared. bench/kiosk_frames.py
measures the two kinds of difference (docs/attendance.md).
"""

from __future__ import annotations

import numpy as np

from entries.recognition import images

from . import conf

SIDE = 128
POINTS = np.random.default_rng(14).choice(SIDE * SIDE, size=1024, replace=False)  # fixed: fingerprints compare
BOX_BYTES = 16
FINGERPRINT_BYTES = BOX_BYTES + 2 * 1024


def _grey(image: bytes) -> np.ndarray:
    import cv2  # loaded with the engine, not when Django starts (tests/test_lazy_engine.py)

    return cv2.cvtColor(np.ascontiguousarray(images.decode(image).rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)


def _points(grey: np.ndarray, box: tuple[int, int, int, int]) -> bytes:
    import cv2

    x, y, w, h = box
    top, left = max(0, y), max(0, x)
    crop = np.ascontiguousarray(grey[top:max(top + 1, y + h), left:max(left + 1, x + w)])
    face = cv2.resize(crop, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    detail = face - cv2.blur(face, (5, 5))
    return detail.reshape(-1)[POINTS].astype(np.float16).tobytes()


def fingerprint(image: bytes, box: tuple[int, int, int, int]) -> bytes:
    """The face's box (4 int32) and its fine detail at POINTS (float16), as bytes."""
    return np.array(box, np.int32).tobytes() + _points(_grey(image), box)


def difference(a: bytes | memoryview, b: bytes | memoryview) -> float:
    """Mean absolute difference of two fingerprints' fine detail, in grey levels."""
    return float(np.abs(np.frombuffer(a, np.float16, offset=BOX_BYTES).astype(np.float32)
                        - np.frombuffer(b, np.float16, offset=BOX_BYTES).astype(np.float32)).mean())


def difference_at(a: bytes | memoryview, image: bytes) -> float:
    """How much this frame differs from fingerprint a's frame, in a's own face box.

    The same box, not this frame's: a detector regressing its box (BlazeFace) may move it by a pixel when the same
    frame is re-encoded, and a pixel's shift changes the fine detail as much as a new capture's noise does.
    """
    x, y, w, h = (int(v) for v in np.frombuffer(a, np.int32, count=4))
    return difference(a, bytes(BOX_BYTES) + _points(_grey(image), (x, y, w, h)))


def same_capture(a: bytes | memoryview | None, image: bytes) -> bool:
    """Whether this frame is a's frame sent again rather than a new capture (a fingerprint without its box,
    from before boxes were kept, is taken for another capture)."""
    return a is not None and len(a) == FINGERPRINT_BYTES and difference_at(a, image) < conf.get(
        "SAME_CAPTURE_DIFFERENCE")

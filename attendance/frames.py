"""Tell a new camera capture from a frame sent again (the same bytes, or decoded and re-encoded).

Two captures of a person holding still still differ: every pixel carries fresh sensor noise and the face moves
by a fraction of a pixel. A frame sent again differs only by what re-encoding changes. The test compares the
fine detail of the face (each pixel minus the mean of its neighbours, where both show up) at 1,024 fixed points of
the face box scaled to 128×128: a fingerprint of 2 KB that holds no picture of the face (its coarse structure,
what recognition uses, is subtracted). bench/kiosk_frames.py measures the two kinds of difference (docs/attendance.md).
"""

from __future__ import annotations

import numpy as np

from entries.recognition import images

from . import conf

SIDE = 128
POINTS = np.random.default_rng(14).choice(SIDE * SIDE, size=1024, replace=False)  # fixed: fingerprints compare


def fingerprint(image: bytes, box: tuple[int, int, int, int]) -> bytes:
    """The face's fine detail at POINTS, as float16 bytes."""
    import cv2  # loaded with the engine, not when Django starts (tests/test_lazy_engine.py)

    rgb = images.decode(image).rgb
    x, y, w, h = box
    top, left = max(0, y), max(0, x)
    crop = cv2.cvtColor(np.ascontiguousarray(rgb[top:max(top + 1, y + h), left:max(left + 1, x + w)]),
                        cv2.COLOR_RGB2GRAY).astype(np.float32)
    face = cv2.resize(crop, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    detail = face - cv2.blur(face, (5, 5))
    return detail.reshape(-1)[POINTS].astype(np.float16).tobytes()


def difference(a: bytes | memoryview, b: bytes | memoryview) -> float:
    """Mean absolute difference of two fingerprints, in grey levels."""
    return float(np.abs(np.frombuffer(a, np.float16).astype(np.float32)
                        - np.frombuffer(b, np.float16).astype(np.float32)).mean())


def same_capture(a: bytes | memoryview | None, b: bytes) -> bool:
    """Whether b is a's frame sent again rather than a new capture."""
    return a is not None and difference(a, b) < conf.get("SAME_CAPTURE_DIFFERENCE")

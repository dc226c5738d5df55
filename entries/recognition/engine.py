"""The face engine: the only module that imports DeepFace or dlib.

Detection runs dlib's HOG detector on a downscaled copy of the photo (a
1.5 MP photo costs milliseconds instead of seconds); each face is then
aligned the way dlib's ResNet was trained (5-point landmarks, 150 px chip
with 25 % padding) and embedded by the DeepFace model named in settings.
Models are loaded lazily, once per process.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DLIB_MODEL = "Dlib"
# Weights dlib needs; the PyPI package face_recognition_models ships them.
_SHIPPED_WEIGHTS = (
    "dlib_face_recognition_resnet_model_v1.dat",
    "shape_predictor_5_face_landmarks.dat",
)
_lock = threading.Lock()


class EngineUnavailable(RuntimeError):
    """The configured model cannot be loaded on this machine."""


@dataclass(frozen=True)
class Face:
    """A detected face: its box (x, y, w, h) in photo pixels and its embedding."""

    box: tuple[int, int, int, int]
    embedding: np.ndarray

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]


def deepface_home() -> Path:
    return Path(os.environ.get("DEEPFACE_HOME") or Path.home())


def install_shipped_weights() -> Path:
    """Put the dlib weights from face_recognition_models where DeepFace looks.

    DeepFace downloads weights it cannot find; air-gapped servers cannot,
    so the files are linked (or copied) from the installed package first.
    """
    import face_recognition_models

    source = Path(face_recognition_models.face_recognition_model_location()).parent
    target = deepface_home() / ".deepface" / "weights"
    target.mkdir(parents=True, exist_ok=True)
    for name in _SHIPPED_WEIGHTS:
        dest = target / name
        if dest.is_file():
            continue
        if dest.is_symlink():  # dangling link from an older install
            dest.unlink()
        try:
            dest.symlink_to(source / name)
        except OSError:
            shutil.copyfile(source / name, dest)
    return target


class Engine:
    """Detect, align and embed faces with one DeepFace recognition model."""

    def __init__(self, model_name: str, detect_max_side: int, upsample: int):
        import dlib
        from deepface.modules import modeling

        weights = install_shipped_weights()
        self.model_name = model_name
        self.detect_max_side = detect_max_side
        self.upsample = upsample
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(weights / "shape_predictor_5_face_landmarks.dat"))
        self._dlib = dlib
        try:
            self._model = modeling.build_model(task="facial_recognition", model_name=model_name)
        except Exception as exc:  # DeepFace raises ValueError or download errors
            raise EngineUnavailable(f"cannot load face model {model_name!r}: {exc}") from exc
        # dlib's ResNet is not thread-safe; gunicorn threads share one engine.
        self._run_lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return int(self._model.output_shape)

    def faces(self, rgb: np.ndarray) -> list[Face]:
        """Return every face in an RGB uint8 photo, largest first."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        height, width = rgb.shape[:2]
        scale = min(1.0, self.detect_max_side / max(height, width))
        small = rgb if scale == 1.0 else _resize(rgb, scale)
        with self._run_lock:
            rects = self._detector(small, self.upsample)
            if not rects:  # small faces: one more pass at twice the resolution
                rects = self._detector(small, self.upsample + 1)
            faces = []
            for rect in rects:
                full = self._dlib.rectangle(
                    round(rect.left() / scale), round(rect.top() / scale),
                    round(rect.right() / scale), round(rect.bottom() / scale),
                )
                shape = self._predictor(rgb, full)
                chip = self._dlib.get_face_chip(rgb, shape, size=150, padding=0.25)
                box = _clip_box(full, width, height)
                faces.append(Face(box=box, embedding=self._embed(chip)))
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces

    def _embed(self, chip: np.ndarray) -> np.ndarray:
        if self.model_name == DLIB_MODEL:
            vector = self._model.model.model.compute_face_descriptor(chip)
        else:
            # DeepFace models take a BGR float image in [0, 1] at their input size.
            import cv2

            width, height = self._model.input_shape  # DeepFace stores (width, height)
            resized = cv2.resize(chip, (width, height))[:, :, ::-1].astype(np.float32) / 255.0
            vector = self._model.forward(resized[np.newaxis])
        return np.asarray(vector, dtype=np.float32).reshape(-1)


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _clip_box(rect, width: int, height: int) -> tuple[int, int, int, int]:
    left, top = max(0, rect.left()), max(0, rect.top())
    right, bottom = min(width, rect.right()), min(height, rect.bottom())
    return (left, top, max(0, right - left), max(0, bottom - top))


_engines: dict[tuple, Engine] = {}


def get_engine(model_name: str = DLIB_MODEL, detect_max_side: int = 640, upsample: int = 0) -> Engine:
    """Return the process-wide engine for a configuration, loading it on first use."""
    key = (model_name, detect_max_side, upsample)
    with _lock:
        if key not in _engines:
            _engines[key] = Engine(model_name, detect_max_side, upsample)
        return _engines[key]

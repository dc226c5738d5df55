"""Is a live person answering the kiosk's challenge? Decision logic over face-mesh landmarks.

The kiosk asks two steps from STEPS ("left": turn your head to your left, "right": to your right, "blink") and
sends about five frames a second while the person answers. measure() meshes the largest face of each frame
(dlib finds it, MediaPipe's 468-point face mesh places the points: entries.recognition.mesh); decide() reads
the sequence:

- yaw: the nose tip's sideways offset from the midpoint of the cheek contour, in face widths. Frames are the
  camera's own pixels (not the mirrored preview), so a person turning to *their* left moves the nose towards
  the image's right: positive yaw. Over TURN_YAW is "left", under -TURN_YAW is "right".
- eye openness: lid gap over eye width, both eyes; a frame under BLINK_RATIO of the open-eye baseline (the
  median of the frames facing the camera) is "closed", and a blink needs open eyes again afterwards.
- the steps seen (runs of one label) must be exactly the asked ones in the asked order: a recording of another
  challenge has an unasked step, or the asked ones in another order.
- depth: a real nose sticks out of the face, so when the head turns the nose tip leaves the straight line
  through the forehead and chin centres by about a tenth of the face width. A photo moved by a homography,
  or bent on a cylinder (its vertical midline stays a straight line on the cylinder), keeps the nose on that
  line. Under MIN_PARALLAX is "flat". A homography fitted to the other points, and the nose tip's distance from
  where it maps it, is kept in the details for the audit.

Thresholds were tuned on the tuning half of bench/liveness.py's synthetic sequences only (see docs/attendance.md,
"Liveness").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

STEPS = ("left", "right", "blink")

# Mesh indices (MediaPipe face mesh; "image-left" is the person's right).
NOSE_TIP = 1
FOREHEAD = 10  # top of the face's midline
CHIN = 152
CHEEK_IMAGE_LEFT, CHEEK_IMAGE_RIGHT = 234, 454
EYES = (  # (outer corner, inner corner, upper-lid points, lower-lid points)
    (33, 133, (160, 159, 158), (144, 145, 153)),
    (263, 362, (387, 386, 385), (373, 374, 380)),
)

START_FRAMES = 3  # the first frames give the starting pose
MIN_FRAMES = 6  # fewer measured frames cannot show two steps
MIN_FACE_SHARE = 0.7  # of the frames must have a meshed face
TURN_YAW = 0.2  # |yaw| over this (face widths) is a turn
FRONT_YAW = 0.06  # |yaw| under this faces the camera (for the eye baseline and the reference frame)
BLINK_RATIO = 0.8  # eyes under this share of their open baseline are closed
REOPEN_RATIO = 0.9  # ...and over this share again are open
MIN_PARALLAX = 0.035  # the nose leaves the forehead-chin line by at least this (face widths) at the largest turn
STILL_RANGE = 0.03  # yaw range and openness range under this: nothing moved

MESSAGES = {
    "passed": "Thank you.",
    "too_few_frames": "The camera sent too few pictures. Please try again.",
    "no_face": "Please keep your face in the frame.",
    "still": "Please follow the instructions on the screen.",
    "flat": "Please face the camera yourself.",
    "wrong_order": "Please do the steps in the order shown.",
}
NOT_DONE = {
    "left": "Turn your head further to your left.",
    "right": "Turn your head further to your right.",
    "blink": "Close your eyes fully for a moment, then open them.",
}


@dataclass(frozen=True)
class FrameMeasure:
    """One frame: seconds since the challenge began, the largest face's box (x, y, w, h; zeros if none) and
    its 468x3 mesh points in photo pixels (None if no face was meshed)."""

    t: float
    box: tuple[int, int, int, int]
    points: np.ndarray | None


@dataclass(frozen=True)
class Verdict:
    passed: bool
    code: str
    message: str
    details: dict[str, float | str] = field(default_factory=dict)


def measure(image: bytes, t: float) -> FrameMeasure:
    """Decode a frame, find its largest face and mesh it. A frame that cannot be decoded, or has no face,
    gives points=None (never an exception: one bad frame is judged with the others)."""
    from core.exceptions import FaceRecError
    from entries.recognition import faces, images, mesh

    try:
        photo = images.decode(image, keep_side=640)
    except FaceRecError:
        return FrameMeasure(t, (0, 0, 0, 0), None)
    if min(photo.rgb.shape[:2]) < faces.MIN_IMAGE_SIDE:
        return FrameMeasure(t, (0, 0, 0, 0), None)
    detections = faces.get_engine().detect(photo.rgb)
    if not detections:
        return FrameMeasure(t, (0, 0, 0, 0), None)
    face = detections[0]
    eyes = np.stack([face.landmarks[2:4].mean(0), face.landmarks[0:2].mean(0)])
    found = mesh.landmarks(photo.rgb, face.box, eyes)
    box = photo.to_photo(face.box)
    if found is None or found.presence < 0.5:
        return FrameMeasure(t, box, None)
    return FrameMeasure(t, box, found.points * photo.scale)


def face_width(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[CHEEK_IMAGE_RIGHT, :2] - points[CHEEK_IMAGE_LEFT, :2]))


def yaw(points: np.ndarray) -> float:
    """The nose tip's offset from the cheeks' midpoint along the cheek line, in face widths (+: the person's left)."""
    left, right = points[CHEEK_IMAGE_LEFT, :2], points[CHEEK_IMAGE_RIGHT, :2]
    axis = right - left
    return float((points[NOSE_TIP, :2] - (left + right) / 2) @ axis / max(float(axis @ axis), 1e-6))


def openness(points: np.ndarray) -> float:
    """Mean lid gap over eye width, both eyes."""
    values = []
    for outer, inner, upper, lower in EYES:
        width = np.linalg.norm(points[outer, :2] - points[inner, :2])
        gap = np.linalg.norm(points[list(upper), :2] - points[list(lower), :2], axis=1).mean()
        values.append(gap / max(float(width), 1e-6))
    return float(np.mean(values))


def nose_offset(points: np.ndarray) -> float:
    """The nose tip's signed distance from the forehead-chin line, in face widths."""
    top, bottom, nose = points[FOREHEAD, :2], points[CHIN, :2], points[NOSE_TIP, :2]
    line = bottom - top
    normal = np.array([-line[1], line[0]]) / max(float(np.linalg.norm(line)), 1e-6)
    return float((nose - top) @ normal) / max(face_width(points), 1e-6)


def homography_residual(reference: np.ndarray, other: np.ndarray) -> float:
    """How far the nose tip is from where one homography fitted to every other point puts it, in face widths."""
    import cv2

    rest = np.ones(len(reference), dtype=bool)
    rest[[NOSE_TIP, 4, 5, 195, 197]] = False  # the nose tip and the ridge just above it
    matrix, _ = cv2.findHomography(reference[rest, :2].astype(np.float32), other[rest, :2].astype(np.float32), 0)
    if matrix is None or not np.isfinite(matrix).all():
        return float("nan")
    mapped = cv2.perspectiveTransform(reference[[NOSE_TIP], :2].reshape(1, 1, 2).astype(np.float32), matrix)
    return float(np.linalg.norm(mapped.ravel() - other[NOSE_TIP, :2])) / max(face_width(other), 1e-6)


def _steps_seen(labels: list[str]) -> list[str]:
    """Runs of one label, neutral frames dropped; a closed-eyes run counts only if open eyes follow it."""
    runs: list[str] = []
    previous = "front"
    for n, label in enumerate(labels):
        if label != previous and label in STEPS:
            if label == "blink" and "open" not in labels[n + 1:] and "front" not in labels[n + 1:]:
                break  # eyes never reopened
            if not runs or runs[-1] != label:  # a step seen twice in a row (noise about the threshold) is one
                runs.append(label)
        previous = label
    return runs


def decide(measures: Sequence[FrameMeasure], steps: Sequence[str]) -> Verdict:
    """Did the frames show the asked steps, in order, nothing else, by a face with depth?"""
    steps = list(steps)
    if any(step not in STEPS for step in steps):
        raise ValueError(f"unknown steps {steps}; known: {STEPS}")
    ordered = sorted(measures, key=lambda m: m.t)
    details: dict[str, float | str] = {"frames": float(len(ordered)), "asked": ",".join(steps)}

    def verdict(code: str, message: str | None = None) -> Verdict:
        return Verdict(code == "passed", code, message or MESSAGES[code], details)

    if len(ordered) < MIN_FRAMES:
        return verdict("too_few_frames")
    meshed = [m for m in ordered if m.points is not None and np.isfinite(m.points).all() and face_width(m.points) > 0]
    details["faces"] = float(len(meshed))
    if len(meshed) < max(MIN_FRAMES, MIN_FACE_SHARE * len(ordered)):
        return verdict("no_face")
    points = [m.points for m in meshed if m.points is not None]
    # yaw from the starting pose (the first frames, before any step): not every face sits square to the camera
    start = float(np.median([yaw(p) for p in points[:START_FRAMES]]))
    yaws = np.array([yaw(p) - start for p in points])
    opens = np.array([openness(p) for p in points])
    front = np.abs(yaws) < FRONT_YAW
    baseline = float(np.median(opens[front])) if front.any() else float(np.median(opens))
    details.update(yaw_start=start, yaw_max=float(yaws.max()), yaw_min=float(yaws.min()), open_baseline=baseline,
                   open_min=float(opens.min() / max(baseline, 1e-6)))
    labels = []
    for y, o in zip(yaws, opens, strict=True):
        if y > TURN_YAW:
            labels.append("left")
        elif y < -TURN_YAW:
            labels.append("right")
        elif o < BLINK_RATIO * baseline:
            labels.append("blink")
        elif o > REOPEN_RATIO * baseline:
            labels.append("open" if abs(y) >= FRONT_YAW else "front")
        else:
            labels.append("between")
    seen = _steps_seen(labels)
    details["seen"] = ",".join(seen)
    if np.ptp(yaws) < STILL_RANGE and np.ptp(opens) / max(baseline, 1e-6) < STILL_RANGE * 3 and not seen:
        return verdict("still")
    # depth: the reference is the frame nearest to facing the camera, the test the most turned one
    reference = int(np.argmin(np.abs(yaws)))
    turned = int(np.argmax(np.abs(yaws)))
    offsets = np.array([nose_offset(p) for p in points])
    parallax = float(abs(offsets[turned] - offsets[reference]))
    details.update(parallax=parallax, homography_residual=homography_residual(points[reference], points[turned]))
    if any(step in ("left", "right") for step in steps) and abs(yaws[turned]) > TURN_YAW and parallax < MIN_PARALLAX:
        return verdict("flat")
    if seen == steps:
        return verdict("passed")
    missing = [step for step in steps if step not in seen]
    if missing:
        return verdict("not_done", NOT_DONE[missing[0]])
    return verdict("wrong_order")

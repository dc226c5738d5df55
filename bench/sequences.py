"""Synthetic liveness-challenge sequences from one real photo: bona fide answers and presentation attacks.

Used by bench/liveness.py, attendance/tests/test_liveness.py and the browser test (to_y4m). All of it is
synthetic: a real person's photo, re-rendered.

- bona_fide: the photo's 468 face-mesh points, lifted to 3D with the mesh's own depth estimate, are turned
  by the asked yaw (about 25-40 degrees, "left" being the person's own left: the nose moves towards the
  image's right) and projected; the photo is warped triangle by triangle (Delaunay over the mesh and a ring
  of fixed points around it, one affine warp per triangle). A blink moves the upper-lid points onto the lower
  lid and back. Hand-held jitter (small shifts and roll) and sensor noise on every frame.
- flat: the photo itself, moved and tilted by smooth random homographies that follow the asked turns (an
  attacker swinging a print or a phone).
- cylinder: the photo bent on a vertical cylinder about as wide as the face, turned as asked.
- other_order: a bona fide answer to a different challenge (a recording of another attempt).
- still: the same photo with noise only.

Every function returns [(t seconds, RGB uint8 frame)] at `fps`, starting and ending facing the camera.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np

STEPS = ("left", "right", "blink")
WIDTH = 480  # frames' width, as the kiosk sends them
LEAD_SECONDS = 0.6  # facing the camera before the first step and after the last
UPPER_LIDS = (246, 161, 160, 159, 158, 157, 173, 466, 388, 387, 386, 385, 384, 398)
LOWER_LIDS = (7, 163, 144, 145, 153, 154, 155, 249, 390, 373, 374, 380, 381, 382)


def resized(rgb: np.ndarray, width: int = WIDTH) -> np.ndarray:
    scale = width / rgb.shape[1]
    return cv2.resize(rgb, (width, round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)


def timeline(steps: Sequence[str], fps: float, step_seconds: float) -> list[tuple[float, str | None, float]]:
    """(t, current step or None, phase 0..1 within the step) per frame."""
    total = 2 * LEAD_SECONDS + len(steps) * step_seconds
    frames = []
    for n in range(int(total * fps) + 1):
        t = n / fps
        inside = t - LEAD_SECONDS
        index = int(inside // step_seconds) if inside >= 0 else -1
        if 0 <= index < len(steps):
            frames.append((t, steps[index], (inside - index * step_seconds) / step_seconds))
        else:
            frames.append((t, None, 0.0))
    return frames


def _turn(phase: float) -> float:
    """Out and back within a step: 0 -> 1 -> 0, holding near the middle."""
    return float(np.clip(1.6 * np.sin(np.pi * phase), 0.0, 1.0))


def _noisy(rgb: np.ndarray, rng: np.random.Generator, jitter: float = 2.0, noise: float = 2.5) -> np.ndarray:
    h, w = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), rng.normal(0, 0.8), 1 + rng.normal(0, 0.005))
    matrix[:, 2] += rng.normal(0, jitter, 2)
    moved = cv2.warpAffine(rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.clip(moved + rng.normal(0, noise, moved.shape), 0, 255).astype(np.uint8)


def face_points(rgb: np.ndarray) -> np.ndarray:
    """The photo's largest face's mesh (468x3, pixels), or ValueError if it has none."""
    from entries.recognition import faces, mesh

    detections = faces.get_engine().detect(rgb)
    if not detections:
        raise ValueError("no face in the photo")
    d = detections[0]
    found = mesh.landmarks(rgb, d.box, np.stack([d.landmarks[2:4].mean(0), d.landmarks[0:2].mean(0)]))
    if found is None:
        raise ValueError("the face could not be meshed")
    return found.points


def _triangles(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    subdiv = cv2.Subdiv2D((-w, -h, 3 * w, 3 * h))
    for x, y in points:
        subdiv.insert((float(x), float(y)))
    index = {(round(float(x), 3), round(float(y), 3)): n for n, (x, y) in enumerate(points)}
    found = []
    for tri in subdiv.getTriangleList():
        corners = [index.get((round(float(tri[k]), 3), round(float(tri[k + 1]), 3))) for k in (0, 2, 4)]
        if None not in corners:
            found.append(corners)
    return np.array(found, dtype=np.int32)


def _warp(rgb: np.ndarray, source: np.ndarray, target: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """The photo with each source triangle moved onto its target triangle (target order: far to near)."""
    out = rgb.copy()
    h, w = rgb.shape[:2]
    for tri in triangles:
        src, dst = source[tri].astype(np.float32), target[tri].astype(np.float32)
        (ax, ay), (bx, by) = dst[1] - dst[0], dst[2] - dst[0]
        area = abs(float(ax * by - ay * bx))
        if area < 0.5:
            continue
        x0, y0 = np.floor(dst.min(0)).astype(int)
        x1, y1 = np.ceil(dst.max(0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        matrix = cv2.getAffineTransform(src, (dst - np.float32([x0, y0])).astype(np.float32))
        patch = cv2.warpAffine(rgb, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, np.round(dst - (x0, y0)).astype(np.int32), 1)
        region = out[y0:y1, x0:x1]
        region[mask > 0] = patch[mask > 0]
    return out


def bona_fide(rgb: np.ndarray, steps: Sequence[str], fps: float = 5, step_seconds: float = 1.5,
              seed: int = 0, points: np.ndarray | None = None) -> list[tuple[float, np.ndarray]]:
    """A live person answering `steps`: the photo's face turned in 3D and blinking, frame by frame."""
    rng = np.random.default_rng(seed)
    rgb = resized(rgb)
    mesh = face_points(rgb) if points is None else points
    h, w = rgb.shape[:2]
    centre = mesh[:, :2].mean(0)
    radius = float(np.ptp(mesh[:, 0]))
    ring = np.array([centre + 1.35 * radius * np.array([np.cos(a), 1.25 * np.sin(a)])
                     for a in np.linspace(0, 2 * np.pi, 24, endpoint=False)])
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], dtype=float)
    fixed = np.vstack([ring, corners])
    source = np.vstack([mesh[:, :2], fixed])
    triangles = _triangles(source, (w, h))
    depth = mesh[:, 2] - np.median(mesh[:, 2])
    amplitude = {step: np.radians(rng.uniform(25, 40)) for step in STEPS}
    frames = []
    for t, step, phase in timeline(steps, fps, step_seconds):
        angle = 0.0
        moved = mesh[:, :2].copy()
        if step in ("left", "right"):
            angle = (1 if step == "left" else -1) * amplitude[step] * _turn(phase)
            # the person's left is the image's right: turning left brings the near (negative z) points to +x
            x = mesh[:, 0] - centre[0]
            moved[:, 0] = centre[0] + x * np.cos(angle) - depth * np.sin(angle)
        if step == "blink" and 0.3 <= phase <= 0.65:
            moved[list(UPPER_LIDS)] = mesh[list(LOWER_LIDS), :2]
        target = np.vstack([moved, fixed])
        # paint far triangles first so the near side (nose, turned-towards cheek) covers them
        rotated_z = (mesh[:, 0] - centre[0]) * np.sin(angle) + depth * np.cos(angle)
        z = np.concatenate([rotated_z, np.full(len(fixed), rotated_z.max() + 1)])
        order = np.argsort(-z[triangles].mean(1))
        frame = _warp(rgb, source, target, triangles[order])
        frames.append((t, _noisy(frame, rng)))
    return frames


def flat(rgb: np.ndarray, steps: Sequence[str], fps: float = 5, step_seconds: float = 1.5,
         seed: int = 0) -> list[tuple[float, np.ndarray]]:
    """A print or a screen, swung as the steps ask: the photo under smooth random homographies."""
    rng = np.random.default_rng(seed)
    rgb = resized(rgb)
    h, w = rgb.shape[:2]
    focal = w * rng.uniform(0.9, 1.5)
    amplitude = np.radians(rng.uniform(25, 50))
    drift = rng.normal(0, 0.02, 3)
    frames = []
    for t, step, phase in timeline(steps, fps, step_seconds):
        turn = (1 if step == "left" else -1 if step == "right" else 0) * amplitude * _turn(phase)
        tilt = drift[0] * np.sin(2 * t) + (0.15 * _turn(phase) if step == "blink" else 0)
        roll = drift[1] * np.sin(1.3 * t)
        # a plane turned by (tilt, turn, roll) at distance focal, seen by a pinhole camera
        cy, sy, cx, sx, cr, sr = np.cos(turn), np.sin(turn), np.cos(tilt), np.sin(tilt), np.cos(roll), np.sin(roll)
        rotation = (np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]]) @ np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
                    @ np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]]))
        camera = np.array([[focal, 0, w / 2], [0, focal, h / 2], [0, 0, 1]])
        homography = camera @ np.column_stack([rotation[:, 0], rotation[:, 1], rotation @ [-w / 2, -h / 2, focal]])
        homography = homography / homography[2, 2]
        homography[:2, 2] += drift[2] * w * np.sin(t) * np.array([1, 0.5])
        frame = cv2.warpPerspective(rgb, homography, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=(90, 90, 90))
        frames.append((t, _noisy(frame, rng)))
    return frames


def cylinder(rgb: np.ndarray, steps: Sequence[str], fps: float = 5, step_seconds: float = 1.5,
             seed: int = 0, points: np.ndarray | None = None) -> list[tuple[float, np.ndarray]]:
    """The photo bent round a vertical cylinder through the face, turned as the steps ask."""
    rng = np.random.default_rng(seed)
    rgb = resized(rgb)
    mesh = face_points(rgb) if points is None else points
    h, w = rgb.shape[:2]
    axis = float(mesh[1, 0])  # the cylinder's front line runs down the nose
    radius = float(np.ptp(mesh[:, 0])) * rng.uniform(0.45, 0.8)
    amplitude = np.radians(rng.uniform(30, 60))
    xs = np.arange(w, dtype=np.float32)
    frames = []
    for t, step, phase in timeline(steps, fps, step_seconds):
        turn = (1 if step == "left" else -1 if step == "right" else 0) * amplitude * _turn(phase)
        # the image x of a photo column at arc length u: axis + R sin(u/R + turn); invert for each output column
        ratio = np.clip((xs - axis) / radius, -1, 1)
        arc = radius * (np.arcsin(ratio) - turn)
        visible = (np.abs((xs - axis) / radius) < 1) & (np.abs(arc / radius) < np.pi / 2)
        map_x = np.where(visible, axis + arc, -1).astype(np.float32)
        map_x = np.repeat(map_x[np.newaxis], h, 0)
        map_y = np.repeat(np.arange(h, dtype=np.float32)[:, np.newaxis], w, 1)
        frame = cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(90, 90, 90))
        frames.append((t, _noisy(frame, rng)))
    return frames


def other_orders(steps: Sequence[str]) -> list[tuple[str, ...]]:
    """Every two-step challenge other than `steps` (distinct steps, as the kiosk asks them)."""
    return [order for order in itertools.permutations(STEPS, len(steps)) if list(order) != list(steps)]


def other_order(rgb: np.ndarray, steps: Sequence[str], fps: float = 5, step_seconds: float = 1.5,
                seed: int = 0, points: np.ndarray | None = None) -> list[tuple[float, np.ndarray]]:
    """A live answer to another challenge than `steps` (a recording replayed to a new challenge)."""
    orders = other_orders(steps)
    order = orders[np.random.default_rng(seed).integers(len(orders))]
    return bona_fide(rgb, order, fps, step_seconds, seed, points)


def still(rgb: np.ndarray, steps: Sequence[str], fps: float = 5, step_seconds: float = 1.5,
          seed: int = 0) -> list[tuple[float, np.ndarray]]:
    """The photo held still: only sensor noise and a little jitter."""
    rng = np.random.default_rng(seed)
    rgb = resized(rgb)
    return [(t, _noisy(rgb, rng, jitter=0.7)) for t, _, _ in timeline(steps, fps, step_seconds)]


ATTACKS = {"flat": flat, "cylinder": cylinder, "other_order": other_order, "still": still}


def jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def to_y4m(frames: Sequence[tuple[float, np.ndarray]], path, fps: int = 5) -> None:
    """A 640x480 4:2:0 Y4M video Chromium's fake camera loops (--use-file-for-fake-video-capture).

    Each frame is scaled to fit 640x480 on grey. To loop without a jump, start and end the sequence facing
    the camera (the generators do).
    """
    from PIL import Image

    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W640 H480 F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _, rgb in frames:
            scale = min(640 / rgb.shape[1], 480 / rgb.shape[0])
            size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
            canvas = Image.new("RGB", (640, 480), (90, 90, 90))
            canvas.paste(Image.fromarray(rgb).resize(size), ((640 - size[0]) // 2, (480 - size[1]) // 2))
            y, cb, cr = canvas.convert("YCbCr").split()
            out.write(b"FRAME\n" + y.tobytes() + cb.resize((320, 240)).tobytes() + cr.resize((320, 240)).tobytes())

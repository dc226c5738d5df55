"""The liveness challenge: a live answer passes; photos, bent photos, other answers and still frames do not.

Sequences come from bench/sequences.py (synthetic, from a real photo of ../shared/faces). decide() is also
specified on hand-made landmark arrays, without the engine.
"""

import importlib.util
import io

import numpy as np
import pytest
from PIL import Image

from attendance import liveness
from attendance.liveness import FrameMeasure
from conftest import REPO

PHOTO = "img1.jpg"


def _sequences():
    spec = importlib.util.spec_from_file_location("liveness_sequences", REPO / "bench" / "sequences.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sequences():
    return _sequences()


@pytest.fixture(scope="module")
def face(faces_dir, sequences):
    from entries.recognition import images

    rgb = sequences.resized(images.decode((faces_dir / PHOTO).read_bytes()).rgb)
    return rgb, sequences.face_points(rgb)


def judged(sequences, frames, steps):
    return liveness.decide([liveness.measure(sequences.jpeg(rgb), t) for t, rgb in frames], steps)


@pytest.mark.faces
@pytest.mark.parametrize("steps", [("left", "blink"), ("blink", "right")])
def test_a_live_answer_to_the_challenge_passes(sequences, face, steps):
    rgb, points = face
    verdict = judged(sequences, sequences.bona_fide(rgb, steps, seed=3, points=points), steps)
    assert verdict.passed, verdict
    assert verdict.code == "passed" and verdict.details["seen"] == ",".join(steps)


@pytest.mark.faces
def test_a_photo_swung_as_asked_is_refused(sequences, face):
    rgb, _ = face
    verdict = judged(sequences, sequences.flat(rgb, ("left", "right"), seed=3), ("left", "right"))
    assert not verdict.passed and verdict.code in ("flat", "not_done", "no_face"), verdict


@pytest.mark.faces
def test_a_photo_bent_on_a_cylinder_and_turned_is_refused(sequences, face):
    rgb, points = face
    verdict = judged(sequences, sequences.cylinder(rgb, ("right", "left"), seed=3, points=points), ("right", "left"))
    assert not verdict.passed and verdict.code in ("flat", "not_done"), verdict


@pytest.mark.faces
def test_a_live_answer_to_another_challenge_is_refused(sequences, face):
    rgb, points = face
    verdict = judged(sequences, sequences.bona_fide(rgb, ("blink", "left"), seed=3, points=points), ("left", "blink"))
    assert not verdict.passed and verdict.code == "wrong_order", verdict
    verdict = judged(sequences, sequences.bona_fide(rgb, ("right", "blink"), seed=3, points=points), ("left", "blink"))
    assert not verdict.passed and verdict.code == "not_done"
    assert verdict.message == "Turn your head further to your left."


@pytest.mark.faces
def test_a_still_photo_is_refused(sequences, face):
    rgb, _ = face
    verdict = judged(sequences, sequences.still(rgb, ("left", "blink"), seed=3), ("left", "blink"))
    assert not verdict.passed and verdict.code == "still", verdict


@pytest.mark.engine
@pytest.mark.parametrize("data", [b"", b"not an image", "tiny", "blank", "strip"])
def test_degenerate_frames_are_measured_as_no_face_without_crashing(data):
    pictures = {"tiny": np.zeros((3, 3, 3), np.uint8), "blank": np.full((480, 640, 3), 128, np.uint8),
                "strip": np.zeros((2, 640, 3), np.uint8)}
    if isinstance(data, str):
        out = io.BytesIO()
        Image.fromarray(pictures[data]).save(out, "JPEG")
        data = out.getvalue()
    measure = liveness.measure(data, 0.4)
    assert measure.points is None and measure.t == 0.4


def test_the_mesh_refuses_degenerate_crops_before_the_model_sees_them():
    from entries.recognition import mesh

    class Refusing:
        def __getattr__(self, name):
            raise AssertionError("the model was reached")

    model = mesh._Mesh.__new__(mesh._Mesh)
    model._net = Refusing()
    assert model.run(np.zeros((0, 0, 3), np.uint8), (0, 0, 40, 40), None) is None
    assert model.run(np.zeros((200, 200, 3), np.uint8), (10, 10, 3, 3), None) is None
    assert model.run(np.zeros((200, 200, 3), np.uint8), (10, 10, float("nan"), 40), None) is None


# decide() on hand-made landmarks: a face of 468 points whose nose, cheeks, chin and lids move as told.

def _face(yaw=0.0, open_=1.0, depth=True):
    points = np.zeros((468, 3))
    points[:, :2] = (100.0, 100.0)
    points[liveness.CHEEK_IMAGE_LEFT, :2] = (50, 100)
    points[liveness.CHEEK_IMAGE_RIGHT, :2] = (150, 100)
    points[liveness.FOREHEAD, :2] = (100 + (20 * yaw if depth else 100 * yaw), 40)
    points[liveness.CHIN, :2] = (100 + (20 * yaw if depth else 100 * yaw), 170)
    points[liveness.NOSE_TIP, :2] = (100 + 100 * yaw, 110)
    for n, (outer, inner, upper, lower) in enumerate(liveness.EYES):
        x = 70 if n == 0 else 130
        points[outer, :2], points[inner, :2] = (x - 10, 80), (x + 10, 80)
        points[list(upper), :2] = (x, 80 - 3 * open_)
        points[list(lower), :2] = (x, 80 + 3 * open_)
    return points


def _frames(*poses):
    return [FrameMeasure(n / 5, (50, 40, 100, 130), _face(**pose)) for n, pose in enumerate(poses)]


FRONT = {"yaw": 0.0}
LEFT = {"yaw": 0.35}
RIGHT = {"yaw": -0.35}
CLOSED = {"open_": 0.2}


def test_decide_passes_the_asked_steps_in_order():
    frames = _frames(FRONT, FRONT, FRONT, LEFT, LEFT, FRONT, FRONT, CLOSED, FRONT, FRONT)
    assert liveness.decide(frames, ["left", "blink"]).code == "passed"


def test_decide_refuses_the_asked_steps_in_another_order():
    frames = _frames(FRONT, FRONT, FRONT, CLOSED, FRONT, LEFT, LEFT, FRONT, FRONT)
    assert liveness.decide(frames, ["left", "blink"]).code == "wrong_order"


def test_decide_refuses_an_unasked_step_in_between():
    frames = _frames(FRONT, FRONT, FRONT, LEFT, FRONT, RIGHT, FRONT, CLOSED, FRONT)
    assert liveness.decide(frames, ["left", "blink"]).code == "wrong_order"


def test_decide_asks_for_a_further_turn_when_the_head_barely_turned():
    frames = _frames(FRONT, FRONT, FRONT, {"yaw": 0.1}, FRONT, CLOSED, FRONT, FRONT)
    verdict = liveness.decide(frames, ["left", "blink"])
    assert verdict.code == "not_done" and verdict.message == "Turn your head further to your left."


def test_decide_wants_the_eyes_open_again_after_a_blink():
    frames = _frames(FRONT, FRONT, FRONT, RIGHT, RIGHT, FRONT, CLOSED, CLOSED)
    assert liveness.decide(frames, ["right", "blink"]).code == "not_done"


def test_decide_refuses_a_turn_without_depth():
    flat_left = {"yaw": 0.35, "depth": False}
    frames = _frames(FRONT, FRONT, FRONT, flat_left, flat_left, FRONT, CLOSED, FRONT, FRONT)
    assert liveness.decide(frames, ["left", "blink"]).code == "flat"


def test_decide_refuses_too_few_frames_and_frames_without_a_face():
    assert liveness.decide(_frames(FRONT, LEFT, CLOSED), ["left", "blink"]).code == "too_few_frames"
    empty = [FrameMeasure(n / 5, (0, 0, 0, 0), None) for n in range(10)]
    assert liveness.decide(empty, ["left", "blink"]).code == "no_face"


def test_decide_calls_unchanging_frames_still():
    assert liveness.decide(_frames(*[FRONT] * 10), ["left", "blink"]).code == "still"


def test_sequences_write_a_y4m_chromium_can_loop(tmp_path):
    sequences = _sequences()
    frames = [(n / 5, np.full((360, 480, 3), 40 * n, np.uint8)) for n in range(3)]
    path = tmp_path / "camera.y4m"
    sequences.to_y4m(frames, path, fps=5)
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    assert header == b"YUV4MPEG2 W640 H480 F5:1 Ip A1:1 C420jpeg"
    assert body.count(b"FRAME\n") == 3 and len(body) == 3 * (6 + 640 * 480 * 3 // 2)

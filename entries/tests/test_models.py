"""No path may leave an entry whose embedding does not match its photo."""

import numpy as np
import pytest
from django.db import IntegrityError
from django.db.models import QuerySet

from entries.exceptions import NoFaceFound
from entries.models import FaceEntry
from entries.recognition import faces
from facerec import databases
from tests.factories import register

pytestmark = [pytest.mark.django_db, pytest.mark.faces]


def test_saving_from_the_shell_computes_the_embedding(photo):
    entry = FaceEntry(employee_code="E001", name="Ann", image=photo("img1.jpg"))
    entry.save()
    entry.refresh_from_db()
    assert entry.embedding_model == "MobileFaceNet"
    np.testing.assert_allclose(entry.vector, faces.analyse(photo("img1.jpg")).embedding, atol=1e-6)
    assert entry.thumbnail and entry.image_mime == "image/jpeg"


def test_changing_the_photo_attribute_recomputes_on_save(photo):
    entry = register(photo)
    before = entry.vector.copy()
    entry.image = photo("img3.jpg")
    entry.save()
    entry.refresh_from_db()
    assert not np.allclose(before, entry.vector)
    assert entry.embedding_is_current()


def test_a_photo_without_a_face_is_never_saved(photo, no_face_jpeg):
    entry = register(photo)
    entry.image = no_face_jpeg
    with pytest.raises(NoFaceFound):
        entry.save()
    entry.refresh_from_db()
    assert entry.embedding_is_current() and faces.digest(bytes(entry.image)) == faces.digest(photo("img1.jpg"))
    with pytest.raises(NoFaceFound):
        FaceEntry(employee_code="E002", name="B", image=no_face_jpeg).save()
    assert FaceEntry.objects.count() == 1


def test_queryset_update_cannot_swap_a_photo_behind_the_embeddings_back(photo):
    register(photo)
    with pytest.raises(TypeError):
        FaceEntry.objects.update(image=photo("img3.jpg"))
    assert FaceEntry.objects.update(department="Sales") == 1


def test_bulk_create_and_bulk_update_compute_embeddings(photo):
    created = FaceEntry.objects.bulk_create([FaceEntry(employee_code="B1", name="B", image=photo("img3.jpg"))])
    assert created[0].embedding_is_current()
    entry = FaceEntry.objects.get(employee_code="B1")
    entry.image = photo("img1.jpg")
    FaceEntry.objects.bulk_update([entry], ["image"])
    assert FaceEntry.objects.get(employee_code="B1").embedding_is_current()


def test_the_database_rejects_an_embedding_of_another_photo(photo):
    entry = register(photo)
    # Even code that goes around the queryset guard meets the check constraint (a validator on MongoDB).
    with pytest.raises(IntegrityError), databases.atomic():
        QuerySet.update(FaceEntry.objects.filter(pk=entry.pk), embedding_sha256="0" * 64)


def test_fixtures_loaded_with_loaddata_get_their_embedding_computed(photo, tmp_path):
    import base64
    import json

    from django.core.management import call_command

    fixture = tmp_path / "entries.json"
    fixture.write_text(json.dumps([{"model": "entries.faceentry", "fields": {
        "employee_code": "F1", "name": "From a fixture", "gender": "unspecified", "department": "",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "image": base64.b64encode(photo("img1.jpg")).decode(), "image_mime": "image/jpeg",
        "image_sha256": "stale", "thumbnail": "", "embedding": "", "embedding_model": "Dlib",
        "embedding_sha256": "stale", "face_box": [0, 0, 1, 1]}}]))
    call_command("loaddata", str(fixture), verbosity=0)
    entry = FaceEntry.objects.get(employee_code="F1")
    assert entry.embedding_is_current() and len(entry.vector) == 192

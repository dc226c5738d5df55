"""Services: the one path every entry point takes."""

from datetime import date
from pathlib import Path

import pytest
from django.db import connection

from entries import services
from entries.exceptions import DuplicateEmployeeCode, MultipleFacesFound, NoFaceFound
from entries.gallery import pgvector
from entries.models import FaceEntry
from entries.recognition import faces
from tests import factories
from tests.factories import face_photo, register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]


@pytest.mark.faces
def test_register_stores_metadata_photo_and_embedding(photo):
    entry = register(photo, code="E001", name="Ann", gender="female", department="HR")
    stored = FaceEntry.objects.get(employee_code="E001")
    assert (stored.name, stored.gender, stored.department) == ("Ann", "female", "HR")
    assert bytes(stored.image) == photo("img1.jpg")
    assert stored.embedding_is_current() and stored.pk == entry.pk


def test_duplicate_employee_code_is_refused_and_the_first_entry_kept():
    factories.entry("E001", name="Ann")
    with pytest.raises(DuplicateEmployeeCode):
        factories.entry("E001", "bob", name="Bob")
    assert FaceEntry.objects.get().name == "Ann"


@pytest.mark.faces
def test_failed_detection_leaves_the_database_as_it_was(photo, no_face_jpeg):
    with pytest.raises(NoFaceFound):
        services.entry_register(employee_code="E1", name="X", consent_reference="F", image=no_face_jpeg)
    with pytest.raises(MultipleFacesFound):
        services.entry_register(employee_code="E1", name="X", consent_reference="F", image=photo("couple.jpg"))
    assert not FaceEntry.objects.exists()


@pytest.mark.faces
def test_largest_face_registers_a_group_photo_when_asked(photo):
    entry = services.entry_register(employee_code="E1", name="X", consent_reference="F", image=photo("couple.jpg"),
                                    largest_face=True)
    assert entry.embedding_is_current()


def test_metadata_update_does_not_recompute_the_embedding(monkeypatch):
    entry = factories.entry("E001")
    monkeypatch.setattr(faces, "analyse", lambda *a, **k: pytest.fail("re-embedded on a metadata change"))
    services.entry_update(entry=entry, department="Sales", name="Ann B")
    assert FaceEntry.objects.get().department == "Sales"


@pytest.mark.faces
def test_new_photo_re_embeds_and_a_bad_one_changes_nothing(photo, no_face_jpeg):
    entry = register(photo)
    old = entry.vector.copy()
    services.entry_update(entry=entry, image=photo("img3.jpg"))
    assert (FaceEntry.objects.get().vector != old).any()
    entry = FaceEntry.objects.get()
    with pytest.raises(NoFaceFound):
        services.entry_update(entry=entry, image=no_face_jpeg, department="Never saved")
    stored = FaceEntry.objects.get()
    assert stored.department == "" and bytes(stored.image) == photo("img3.jpg")


def test_renaming_to_a_taken_code_is_refused():
    factories.entry("E1")
    second = factories.entry("E2")
    with pytest.raises(DuplicateEmployeeCode):
        services.entry_update(entry=second, employee_code="E1")


def test_delete():
    services.entry_delete(entry=factories.entry("E001"))
    assert not FaceEntry.objects.exists()


def test_a_prepared_face_of_other_bytes_is_not_trusted():
    prepared = factories.face("bob")
    entry = services.entry_register(employee_code="E1", name="X", consent_reference="F", image=face_photo("ann"),
                                    face=prepared)
    assert entry.embedding_sha256 == faces.digest(face_photo("ann"))
    assert (entry.vector != prepared.embedding).any()


def _sqlite_files() -> bytes:
    path = Path(connection.settings_dict["NAME"])
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def _marker(data: bytes) -> bytes:
    return data[len(data) // 2: len(data) // 2 + 64]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["new photo", "1.x photos", "extra photo removed"])
def test_a_replaced_photo_is_not_left_readable_in_the_sqlite_files(change):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's own files")
    entry = factories.entry("E001", "ann", photos=2)
    main, extra = _marker(face_photo("ann")), _marker(face_photo("ann", 1))
    assert main in _sqlite_files() and extra in _sqlite_files()
    if change == "new photo":
        services.entry_update(entry=entry, image=face_photo("ann", 5))
        gone = [main]
    elif change == "1.x photos":
        services.entry_set_photos(entry=entry, images=[face_photo("ann", 5)], name="Ann")
        gone = [main, extra]
    else:
        services.photo_remove(photo=entry.photos.get())
        gone = [extra]
    leftovers = _sqlite_files()
    assert not [marker for marker in gone if marker in leftovers]
    assert _marker(face_photo("ann", 5)) in leftovers or change == "extra photo removed"


def test_a_write_from_a_stale_copy_keeps_what_others_changed_meanwhile():
    factories.entry("E001")
    # three requests that each read the entry before any of them wrote
    for_consent, for_photo, for_reembed = (FaceEntry.objects.get() for _ in range(3))
    services.entry_update(entry=for_consent, consent_reference="WITHDRAWN", retain_until=date(2027, 1, 31))
    services.entry_update(entry=for_photo, image=face_photo("E001", 1))
    services.entry_reembed(entry=for_reembed)
    stored = FaceEntry.objects.get()
    assert (stored.consent_reference, stored.retain_until) == ("WITHDRAWN", date(2027, 1, 31))
    assert bytes(stored.image) == face_photo("E001", 1) and stored.embedding_is_current()
    assert for_photo.consent_reference == "WITHDRAWN"  # and the writer's copy is what is stored


def test_a_1x_update_sets_photos_and_metadata_as_one_change():
    entry = factories.entry("E001", "ann", name="Ann", photos=2)
    services.entry_set_photos(entry=entry, images=[face_photo("ann", 4), face_photo("ann", 5)], name="Ann Roe",
                              department="Ops")
    stored = FaceEntry.objects.get()
    assert (stored.name, stored.department, bytes(stored.image)) == ("Ann Roe", "Ops", face_photo("ann", 4))
    assert [bytes(p.image) for p in stored.photos.all()] == [face_photo("ann", 5)]


def test_only_a_write_of_the_embedding_mirrors_it_to_pgvector(monkeypatch):
    entry = factories.entry("E001")
    mirrored = []
    monkeypatch.setattr(pgvector, "mirror", lambda photos, connection: mirrored.extend(photos))
    services.entry_update(entry=entry, department="Ops")  # its copy's embedding may be older than the stored one
    assert mirrored == []
    services.entry_update(entry=entry, image=face_photo("E001", 1))
    assert [p.embedding_sha256 for p in mirrored] == [faces.digest(face_photo("E001", 1))]

"""Migration from the original FaceRec: a faceEntries collection on a MongoDB-wire server, imported."""

import base64
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from entries import identification
from entries.models import FaceEntry, Gender

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faces]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def original(mongo_url, photo, no_face_jpeg):
    """An original FaceRec database: faceEntries as the original app wrote them, some of them broken."""
    import pymongo

    from tests.live import free_port

    name = f"facerec_original_{free_port()}"
    client = pymongo.MongoClient(mongo_url)
    client[name]["faceEntries"].insert_many([
        {"id": 1, "Employeecode": 101, "Name": "Ann Lee", "gender": "Female", "Department": "HR",
         "time": "2021-03-04 09:15:00", "embeddings": [0.1] * 128, "Image": b64(photo("img1.jpg"))},
        {"id": 2, "Employeecode": "E102", "Name": "Bob Roy", "gender": "unknown", "Department": "IT",
         "time": datetime(2022, 5, 6, 7, 8, 9), "embeddings": [0.2] * 128,
         "Image": "data:image/jpeg;base64," + b64(photo("img3.jpg"))},
        {"id": 3, "Employeecode": "E103", "Name": "Bad base64", "Image": "not base64 at all!"},
        {"id": 4, "Employeecode": "E104", "Name": "No face", "Image": b64(no_face_jpeg)},
        {"id": 5, "Employeecode": 101, "Name": "Same code again", "Image": b64(photo("img8.jpg"))},
        {"id": 6, "Name": "No code", "Image": b64(photo("img8.jpg"))},
        {"id": 7, "Employeecode": "E107", "Name": "Bad time", "time": "yesterday", "Image": b64(photo("img8.jpg"))},
    ])
    yield f"{mongo_url}/{name}"
    client.drop_database(name)


def import_facerec(url, *extra):
    out, err = StringIO(), StringIO()
    try:
        call_command("import_facerec", "--mongo-url", url, "--consent-reference", "HR consent forms 2026",
                     "--no-progress", *extra, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def test_an_original_collection_is_imported_with_new_embeddings_and_every_failure_named(original, photo):
    out, err, error = import_facerec(original)

    # The good documents are in, with their original dates, and embedded by FaceRec's own model...
    assert "7 documents: 2 created, 0 updated, 0 unchanged, 0 skipped, 5 failed." in out
    ann, bob = FaceEntry.objects.order_by("employee_code")
    assert (ann.employee_code, ann.name, ann.gender, ann.department) == ("101", "Ann Lee", Gender.FEMALE, "HR")
    assert ann.created_at == datetime(2021, 3, 4, 9, 15, tzinfo=UTC)
    assert ann.embedding_is_current() and len(ann.vector) == 192  # not the original's 128 numbers
    assert (bob.employee_code, bob.gender) == ("E102", Gender.UNSPECIFIED)
    assert bob.consent_reference == "HR consent forms 2026"
    assert identification.identify(image=photo("img2.jpg")).faces[0].match.employee_code == "101"

    # ...and each broken one is named with its reason, with a failing exit status.
    assert error is not None and "5 of 7 documents failed" in str(error)
    assert "document 3 (Employeecode E103): Image is not valid base64" in err
    assert "document 4 (Employeecode E104): no_face" in err
    assert "document 5 (Employeecode 101): duplicate Employeecode, already in document 1" in err
    assert "document 6: no Employeecode" in err
    assert "document 7 (Employeecode E107): time 'yesterday' is not a date and time" in err


def test_running_the_import_again_duplicates_nothing(original):
    import_facerec(original)
    out, _, _ = import_facerec(original)
    assert "0 created, 0 updated, 2 unchanged" in out
    assert FaceEntry.objects.count() == 2


def test_consent_must_be_referenced_and_an_unreachable_server_is_a_clear_error(original):
    with pytest.raises(CommandError, match="recorded no consent"):
        call_command("import_facerec", "--mongo-url", original, "--no-progress")
    _, _, error = import_facerec("mongodb://127.0.0.1:1/facerec", "--collection", "faceEntries")
    assert error is not None and "mongodb://127.0.0.1:1/facerec collection faceEntries: cannot read it" in str(error)
    assert FaceEntry.objects.count() == 0


def test_an_impossible_time_fails_only_its_own_document_and_the_rest_import(mongo_url, photo):
    import pymongo

    from tests.live import free_port

    name = f"facerec_original_{free_port()}"
    client = pymongo.MongoClient(mongo_url)
    impossible = {11: "2026-02-30 09:00:00", 12: "2026-13-01 09:00:00", 13: float("nan"), 14: 1e20,
                  15: float("inf"), 16: -1e300}
    client[name]["faceEntries"].insert_many([
        *({"id": n, "Employeecode": f"E{n}", "Name": "Bad time", "time": t, "Image": b64(photo("img8.jpg"))}
          for n, t in impossible.items()),
        {"id": 20, "Employeecode": "E20", "Name": "Ann Lee", "time": "2021-03-04 09:15:00",
         "Image": b64(photo("img1.jpg"))},
    ])
    try:
        out, err, error = import_facerec(f"{mongo_url}/{name}")
    finally:
        client.drop_database(name)
    assert "7 documents: 1 created, 0 updated, 0 unchanged, 0 skipped, 6 failed." in out
    assert list(FaceEntry.objects.values_list("employee_code", flat=True)) == ["E20"]
    assert error is not None and "6 of 7 documents failed" in str(error)
    for n in impossible:
        assert f"document {n} (Employeecode E{n}): time " in err and "is not a possible date and time" in err
    assert "time '2026-02-30 09:00:00' is not a possible date and time (day is out of range for month)" in err

"""The original FaceRec 1.x API, played through its own lifecycle with real photos."""

import base64
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from entries.models import FaceEntry
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]


def b64(data):
    return base64.b64encode(data).decode()


@pytest.fixture
def original(settings):
    """A deployment migrated from FaceRec 1.x whose consent forms are recorded outside FaceRec."""
    settings.FACEREC = {"REQUIRE_CONSENT": False}


def data(api, query=""):
    """/Data/'s JSON array (a streamed answer)."""
    response = api.get(f"/Data/{query}")
    assert response.status_code == 200, response.status_code
    return json.loads(b"".join(response.streaming_content) if response.streaming else response.content)


def employee(photo, code, name, gender, department, *images):
    """A 1.x create body: real photos by file name (photo: the fixture), or prepared ones (photo: None, images are
    (person, number) pairs)."""
    return {"EmployeeCode": code, "Name": name, "gender": gender, "Department": department,
            "Images": [b64(photo(image) if photo else factories.face_photo(*image)) for image in images]}


@pytest.mark.faces
def test_the_original_lifecycle(api, photo, original):
    # two employees created with two images each (codes as the original clients send them: number or string)
    ann = employee(photo, 1, "Ann Lee", "Female", "HR", "img1.jpg", "img2.jpg")
    bob = employee(photo, "2", "Bob Roe", "male", "IT", "img3.jpg", "img12.jpg")
    for body in (ann, bob):
        response = api.post("/create_new_faceEntry", body, format="json")
        assert response.status_code == 200, response.content
        assert response.json() == {"message": "Face entry created successfully"}
    listed = data(api)
    assert [(e["EmployeeCode"], e["gender"], len(e["Images"])) for e in listed] == [
        ("1", "Female", 2), ("2", "Male", 2)]
    assert api.get("/read/1").json() == {k: v for k, v in listed[0].items() if k != "EmployeeCode"}
    # recognition finds an enrolled employee, and answers 404 for a stranger
    found = api.post("/recognize_face", {"Face": SimpleUploadedFile("x.jpg", photo("img4.jpg"))}, format="multipart")
    assert found.status_code == 200 and found.json()["EmployeeCode"] == "1" and 0 < found.json()["score"] <= 1
    stranger = api.post("/recognize_face", {"Face": SimpleUploadedFile("s.jpg", photo("img38.jpg"))},
                        format="multipart")
    assert stranger.status_code == 404 and stranger.json() == {"message": "No match found"}
    # one updated with new images: they replace the photos and are embedded again
    update = {"Name": "Ann Lee-Roe", "gender": "FEMALE", "Department": "Ops",
              "Images": [b64(photo("img5.jpg")), b64(photo("img6.jpg")), b64(photo("img7.jpg"))]}
    response = api.put("/update/1", update, format="json")
    assert response.status_code == 200 and response.json() == "Updated Successfully"
    listed = data(api)
    assert listed[0]["Name"] == "Ann Lee-Roe" and listed[0]["Department"] == "Ops" and len(listed[0]["Images"]) == 3
    assert base64.b64decode(listed[0]["Images"][0]) == photo("img5.jpg")
    assert FaceEntry.objects.get(employee_code="1").embedding_is_current()
    assert api.post("/recalculate_embeddings").status_code == 202  # a job: jobs/tests/test_jobs.py
    # one deleted, then the other
    assert api.delete("/delete/1").json() == {"Message": "Successfully Deleted"}
    assert api.get("/read/1").status_code == 404 and api.get("/read/1").json()["message"] == "Employee not found"
    assert api.delete("/delete/2").status_code == 200
    assert data(api) == []


def test_older_clients_send_one_image(api, original):
    body = {"EmployeeCode": 7, "Name": "Old Client", "gender": "robot", "Department": "",
            "Image": b64(factories.face_photo("ann"))}
    assert api.post("/create_new_faceEntry", body, format="json").status_code == 200
    assert api.get("/read/7").json()["gender"] == "Other"


def test_refusals_keep_facerec_codes_with_the_original_message_key(api, original):
    no_face_jpeg = factories.no_face_photo()
    body = employee(None, 1, "Ann", "Female", "HR", ("ann", 0))
    assert api.post("/create_new_faceEntry", body, format="json").status_code == 200
    duplicate = api.post("/create_new_faceEntry", body, format="json")
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_employee_code"
    assert "already exists" in duplicate.json()["message"]
    same_face = api.post("/create_new_faceEntry", employee(None, 2, "Twin", "Female", "HR", ("ann", 1)),
                         format="json")
    assert same_face.status_code == 409 and same_face.json()["code"] == "duplicate_face"
    no_face = api.post("/create_new_faceEntry", {**employee(None, 3, "X", "", ""), "Images": [b64(no_face_jpeg)]},
                       format="json")
    assert no_face.status_code == 422 and no_face.json()["code"] == "no_face" and no_face.json()["message"]
    # several images, one bad: nothing is stored
    mixed = {**employee(None, 4, "Y", "", ""), "Images": [b64(factories.face_photo("bob")), b64(no_face_jpeg)]}
    assert api.post("/create_new_faceEntry", mixed, format="json").status_code == 422
    assert not FaceEntry.objects.filter(employee_code="4").exists()


def test_consent_is_still_required_by_default(api):
    body = employee(None, 1, "Ann", "Female", "HR", ("ann", 0))
    refused = api.post("/create_new_faceEntry", body, format="json")
    assert refused.status_code == 422 and refused.json()["code"] == "consent_required"
    assert api.post("/create_new_faceEntry", {**body, "ConsentReference": "F-1"}, format="json").status_code == 200


def test_authentication_and_permissions_apply(client, db):
    assert client.get("/Data/").status_code in (401, 403)
    assert client.post("/recalculate_embeddings").status_code in (401, 403)


# --- /Data/ at any gallery size (issue 14, defect 9) --------------------------------------------------

def large_photo(photo, name, side=2400):
    """A real face photo made about 2 MB, the size phones send (noise keeps JPEG from compressing it away)."""
    import io

    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(photo(name))).convert("RGB")
    image = image.resize((side, side * image.height // image.width))
    pixels = np.asarray(image, dtype=np.int16) + np.random.default_rng(0).integers(-6, 7, (*image.size[::-1], 3))
    out = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.mark.faces
def test_data_is_a_json_array_streamed_in_memory_bounded_by_one_photo(api, photo, original):
    """150 entries of 2.2 MB photos once took a worker from 94 MB to 1.7 GB: memory must not grow with the body."""
    import tracemalloc

    from entries import services

    big = large_photo(photo, "img1.jpg")
    first = services.entry_register(employee_code="A00", name="Ann Lee", image=big,
                                    extra_images=[large_photo(photo, "img2.jpg")])
    copied = {f.attname: getattr(first, f.attname) for f in FaceEntry._meta.concrete_fields
              if not f.primary_key and f.name != "employee_code"}
    # the same enrolled photo under more codes: a large gallery, enrolled once
    FaceEntry.objects.bulk_create([FaceEntry(**copied, employee_code=f"A{n:02}") for n in range(1, 24)])
    tracemalloc.start()
    try:
        response = api.get("/Data/")
        size, head, tail = 0, b"", b""
        for chunk in response.streaming_content if response.streaming else [response.content]:
            head, tail, size = (head + chunk[:40])[:40], (tail + chunk[-8:])[-8:], size + len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert head.startswith(b'[{"EmployeeCode":"A00","Name":"Ann Lee"') and tail.endswith(b"]}]")
    assert size > 24 * len(big) * 4 // 3  # every photo went out, as base64
    assert peak < 4 * len(big) and peak < size / 8, (peak, size)  # two or three photos (MongoDB), not 80 MB


def test_data_pages_with_offset_and_limit_and_refuses_a_gallery_past_its_cap(api, settings):
    settings.FACEREC = {"REQUIRE_CONSENT": False, "COMPAT_DATA_MAX_ENTRIES": 2}
    for code in ("1", "2", "3"):
        assert api.post("/create_new_faceEntry", employee(None, code, f"E{code}", "", "", (code, 0)),
                        format="json").status_code == 200
    refused = api.get("/Data/")
    assert refused.status_code == 422 and refused.json()["code"] == "too_many_entries"
    assert "?offset=0&limit=2" in refused.json()["message"]
    assert [[e["EmployeeCode"] for e in data(api, f"?offset={offset}&limit=2")] for offset in (0, 2, 4)] == [
        ["1", "2"], ["3"], []]
    assert api.get("/Data/?limit=1")["X-Total-Count"] == "3"
    assert api.get("/Data/?offset=1").status_code == 200  # the rest fits under the cap
    assert api.get("/Data/?limit=3").json()["code"] == "too_many_entries"
    assert api.get("/Data/?offset=-1").json()["code"] == "invalid"
    assert api.get(f"/Data/?offset={2**64}&limit=1").json()["code"] == "invalid"  # past any database's OFFSET


# --- each 1.x path answers its own method only (issue 14, defect 11) ----------------------------------

PATHS = {"/create_new_faceEntry": "POST", "/Data/": "GET", "/read/1": "GET", "/update/1": "PUT",
         "/delete/1": "DELETE", "/recognize_face": "POST", "/recalculate_embeddings": "POST"}


def test_every_1x_path_refuses_other_methods_with_405_and_json(api, original):
    assert api.post("/create_new_faceEntry", employee(None, 1, "Ann", "", "", ("ann", 0)),
                    format="json").status_code == 200
    for path, method in PATHS.items():
        allowed = {method, "HEAD"} if method == "GET" else {method}
        for other in {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} - allowed:
            response = api.generic(other, path)
            assert response.status_code == 405, (other, path, response.status_code)
            assert response.json()["code"] == "method_not_allowed", (other, path)
            assert set(response["Allow"].replace(" ", "").split(",")) == allowed, (other, path)
    assert FaceEntry.objects.filter(employee_code="1").exists()  # DELETE /read/1 once deleted the entry


def test_the_schema_describes_the_arrays_that_are_answered(api):
    schema = api.get("/api/schema/?format=json").json()
    for path in ("/Data/", "/api/entries/{Employeecode}/faces/"):
        get = schema["paths"][path]["get"]
        assert get["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array", path
        assert not {p["name"] for p in get.get("parameters", [])} & {"page", "search", "ordering"}, path
    for path, method in PATHS.items():
        operation = schema["paths"][path.replace("/1", "/{code}")]
        assert set(operation) - {"parameters"} == {method.lower()}, path

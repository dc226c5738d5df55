"""The REST API: CRUD by employee code, base64 or multipart photos, JSON errors with codes."""

import base64
import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from entries.models import FaceEntry
from tests import factories
from tests.factories import face_photo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]
URL = "/api/entries/"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def body(photo=None, code="E001", image="img1.jpg", **extra):
    """A new entry as a client posts it: a real photo by file name, or by default a prepared photo of Ann."""
    data = photo(image) if photo else face_photo("ann")
    return {"Employeecode": code, "Name": "Ann Lee", "gender": "female", "Department": "HR", "consent_reference": "F-1",
            "Image": b64(data), **extra}


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["message"]


# --- reading and writing -------------------------------------------------------------------------

def test_create_with_base64_json_returns_the_entry_in_facerec_field_names(api):
    response = api.post(URL, body(), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert {"id", "Employeecode", "Name", "gender", "Department", "time", "Image"} <= data.keys()
    assert data["Employeecode"] == "E001" and data["Department"] == "HR"
    assert base64.b64decode(data["Image"]) == face_photo("ann")
    assert data["embedding_model"] == "MobileFaceNet" and len(data["face_box"]) == 4
    assert "embeddings" not in data


def test_create_with_a_multipart_upload(api):
    upload = SimpleUploadedFile("any-name.bin", face_photo("ann"), content_type="application/octet-stream")
    response = api.post(URL, {"Employeecode": "E9", "Name": "Multi", "Image": upload, "consent_reference": "F-9"},
                        format="multipart")
    assert response.status_code == 201, response.content
    assert FaceEntry.objects.get().embedding_is_current()


def test_a_data_uri_is_accepted(api):
    data = body(Image="data:image/jpeg;base64," + b64(face_photo("ann")))
    assert api.post(URL, data, format="json").status_code == 201


def test_read_by_employee_code_with_embeddings_only_when_asked(api):
    factories.entry("E001")
    plain = api.get(f"{URL}E001/").json()
    assert "embeddings" not in plain and plain["Image"]
    full = api.get(f"{URL}E001/?include=embeddings").json()
    assert [len(e) for e in full["embeddings"]] == [192]  # one photo, 192-d


def test_list_is_paginated_filterable_searchable_and_carries_no_photo(api):
    factories.entry("E001", name="Ann", department="HR", gender="female")
    factories.entry("E002", name="Bob", department="IT", gender="male")
    page = api.get(URL).json()
    assert page["count"] == 2
    row = page["results"][0]
    assert "Image" not in row and "embeddings" not in row
    assert row["url"].endswith("/api/entries/E001/")
    assert [r["Employeecode"] for r in api.get(URL, {"department": "IT"}).json()["results"]] == ["E002"]
    assert [r["Employeecode"] for r in api.get(URL, {"gender": "female"}).json()["results"]] == ["E001"]
    assert [r["Employeecode"] for r in api.get(URL, {"search": "bob"}).json()["results"]] == ["E002"]


def test_patch_metadata_keeps_the_embedding_and_a_new_photo_replaces_it(api):
    factories.entry("E001")
    before = FaceEntry.objects.get().vector.copy()
    assert api.patch(f"{URL}E001/", {"Department": "Sales"}, format="json").status_code == 200
    entry = FaceEntry.objects.get()
    assert entry.department == "Sales" and (entry.vector == before).all()
    assert api.patch(f"{URL}E001/", {"Image": b64(face_photo("E001", 1))}, format="json").status_code == 200
    assert (FaceEntry.objects.get().vector != before).any()


def test_put_replaces_metadata(api):
    factories.entry("E001")
    response = api.put(f"{URL}E001/", {"Employeecode": "E001", "Name": "New Name", "Department": "Ops"},
                       format="json")
    assert response.status_code == 200, response.content
    assert FaceEntry.objects.get().name == "New Name"


def test_delete(api):
    factories.entry("E001")
    assert api.delete(f"{URL}E001/").status_code == 204
    assert not FaceEntry.objects.exists()


# --- errors --------------------------------------------------------------------------------------

def test_bad_fields_are_400_with_per_field_messages(api):
    response = api.post(URL, {"Employeecode": "bad code!", "Name": "", "gender": "robot", "Image": "%%%"},
                        format="json")
    assert_error(response, 400, "invalid")
    assert {"Employeecode", "Name", "gender", "Image"} <= response.json()["details"].keys()


def test_unknown_employee_code_is_404(api):
    assert_error(api.get(f"{URL}NOPE/"), 404, "not_found")


def test_duplicate_employee_code_is_409_and_the_first_entry_is_kept(api):
    api.post(URL, body(), format="json")
    assert_error(api.post(URL, body(Image=b64(face_photo("bob")), Name="Other"), format="json"),
                 409, "duplicate_employee_code")
    assert FaceEntry.objects.get().name == "Ann Lee"


@override_settings(FACEREC={"MAX_IMAGE_BYTES": 1000})
def test_too_large_is_413(api):
    assert_error(api.post(URL, {"Employeecode": "E1", "Name": "A", "Image": b64(b"x" * 5000)}, format="json"),
                 413, "image_too_large")
    upload = SimpleUploadedFile("big.jpg", b"x" * 5000, content_type="image/jpeg")
    assert_error(api.post(URL, {"Employeecode": "E1", "Name": "A", "Image": upload}, format="multipart"),
                 413, "image_too_large")


def test_not_an_image_is_415_whatever_its_name_or_declared_type(api):
    upload = SimpleUploadedFile("photo.jpg", b"%PDF-1.4 not a photo", content_type="image/jpeg")
    assert_error(api.post(URL, {"Employeecode": "E1", "Name": "A", "Image": upload, "consent_reference": "F"},
                          format="multipart"), 415, "unsupported_image")
    assert not FaceEntry.objects.exists()


@pytest.mark.faces
def test_no_face_and_several_faces_are_422_and_nothing_is_stored(api, photo, no_face_jpeg):
    assert_error(api.post(URL, {**body(photo), "Image": b64(no_face_jpeg)}, format="json"), 422, "no_face")
    response = api.post(URL, body(photo, image="couple.jpg"), format="json")
    assert_error(response, 422, "multiple_faces")
    assert response.json()["details"]["count"] == 2
    assert not FaceEntry.objects.exists()
    assert api.post(URL, body(photo, image="couple.jpg", largest_face=True), format="json").status_code == 201


def test_a_failed_photo_replacement_keeps_the_old_photo(api):
    factories.entry("E001")
    no_face = b64(factories.no_face_photo())
    assert_error(api.patch(f"{URL}E001/", {"Image": no_face, "Name": "X"}, format="json"), 422, "no_face")
    entry = FaceEntry.objects.get()
    assert bytes(entry.image) == face_photo("E001") and entry.name != "X"


# --- who may do what -----------------------------------------------------------------------------

def test_anonymous_clients_get_nothing(db):
    client = APIClient()
    for response in (client.get(URL), client.get(f"{URL}E1/"), client.post(URL, {}), client.get("/api/schema/")):
        assert response.status_code == 401


def test_model_permissions_decide(viewer):
    factories.entry("E001")
    client = APIClient()
    client.force_authenticate(viewer)
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}E001/").status_code == 200
    assert_error(client.delete(f"{URL}E001/"), 403, "permission_denied")
    assert_error(client.post(URL, body(), format="json"), 403, "permission_denied")


def test_a_user_without_view_permission_reads_nothing(db, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="pw")
    client = APIClient()
    client.force_authenticate(user)
    assert client.get(URL).status_code == 403


def test_token_authentication(superuser):
    token = Token.objects.create(user=superuser)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(URL).status_code == 200


def test_openapi_schema_and_docs_pages(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/entries/{Employeecode}/" in schema.content.decode()
    assert api.get("/api/docs/").status_code == 200


def test_the_openapi_schema_generates_without_warnings(db):
    from io import StringIO

    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO(), stderr=StringIO())


# --- errors in the schema and outside any view (issue 14, schemathesis) -------------------------------

@pytest.mark.django_db
def test_a_path_no_view_matches_is_a_json_404_outside_the_admin(api, admin_client):
    for path in ("/api/entries/not%20a%20code/", "/api/attendance/events/1.5/", "/api/nothing/"):
        response = api.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", path
        assert response.json()["code"] == "not_found", path
    assert admin_client.get("/admin/nothing/here/")["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_the_schema_documents_every_error_answer_in_one_shape(api):
    schema = api.get("/api/schema/?format=json").json()
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"code", "message"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            expected = {"400", "401", "403", "404", "429", "503"}
            if method in ("post", "put", "patch"):
                expected |= {"409", "413", "415", "422"}
            assert expected <= set(operation["responses"]), (method, path)


@pytest.mark.django_db
def test_a_name_of_only_unicode_spaces_is_refused_and_the_schema_says_so(api):
    """DRF trims before its blank check, so the schema must not call "\u00a0" a valid Name (schemathesis ST202)."""
    import re

    schema = api.get("/api/schema/?format=json").json()["components"]["schemas"]
    name = schema["FaceEntryRequest"]["properties"]["Name"]
    assert not re.search(name["pattern"], "\u00a0\u2003 \x1e\x85")  # all whitespace to str.strip
    assert schema["FaceEntryRequest"]["properties"]["Employeecode"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"
    response = api.put("/api/entries/E1/", {"Employeecode": "E1", "Name": "\u00a0"}, format="multipart")
    assert response.status_code in (400, 404)


@pytest.mark.django_db
def test_an_empty_image_in_a_form_is_an_empty_image_as_in_json(api):
    """DRF reads a form's empty optional field as absent: the 1.x API said 400 to a schema-valid request (ST202)."""
    for fmt in ("json", "multipart"):
        response = api.post("/create_new_faceEntry", {"EmployeeCode": "E0", "Name": "0", "Image": "",
                                                      "ConsentReference": "form 1"}, format=fmt)
        assert response.status_code == 415, (fmt, response.content)
        assert response.json()["message"] == "The image is empty."


def test_a_form_clears_a_nullable_field_with_null_as_json_does(api):
    factories.entry("E001", employment_end=datetime.date(2030, 1, 31))
    response = api.patch("/api/entries/E001/", {"employment_end": "null", "consent_at": "null"}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["employment_end"] is None

"""The original FaceRec 1.x API, played through its own lifecycle with real photos."""

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from entries.models import FaceEntry

pytestmark = [pytest.mark.django_db, pytest.mark.faces]


def b64(data):
    return base64.b64encode(data).decode()


@pytest.fixture
def original(settings):
    """A deployment migrated from FaceRec 1.x whose consent forms are recorded outside FaceRec."""
    settings.FACEREC = {"REQUIRE_CONSENT": False}


def employee(photo, code, name, gender, department, *images):
    return {"EmployeeCode": code, "Name": name, "gender": gender, "Department": department,
            "Images": [b64(photo(image)) for image in images]}


def test_the_original_lifecycle(api, photo, original):
    # two employees created with two images each (codes as the original clients send them: number or string)
    ann = employee(photo, 1, "Ann Lee", "Female", "HR", "img1.jpg", "img2.jpg")
    bob = employee(photo, "2", "Bob Roe", "male", "IT", "img3.jpg", "img12.jpg")
    for body in (ann, bob):
        response = api.post("/create_new_faceEntry", body, format="json")
        assert response.status_code == 200, response.content
        assert response.json() == {"message": "Face entry created successfully"}
    listed = api.get("/Data/").json()
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
    listed = api.get("/Data/").json()
    assert listed[0]["Name"] == "Ann Lee-Roe" and listed[0]["Department"] == "Ops" and len(listed[0]["Images"]) == 3
    assert base64.b64decode(listed[0]["Images"][0]) == photo("img5.jpg")
    assert FaceEntry.objects.get(employee_code="1").embedding_is_current()
    assert api.post("/recalculate_embeddings").json() == {"message": "Embeddings Recalculated successfully"}
    # one deleted, then the other
    assert api.delete("/delete/1").json() == {"Message": "Successfully Deleted"}
    assert api.get("/read/1").status_code == 404 and api.get("/read/1").json()["message"] == "Employee not found"
    assert api.delete("/delete/2").status_code == 200
    assert api.get("/Data/").json() == []


def test_older_clients_send_one_image(api, photo, original):
    body = {"EmployeeCode": 7, "Name": "Old Client", "gender": "robot", "Department": "",
            "Image": b64(photo("img1.jpg"))}
    assert api.post("/create_new_faceEntry", body, format="json").status_code == 200
    assert api.get("/read/7").json()["gender"] == "Other"


def test_refusals_keep_facerec_codes_with_the_original_message_key(api, photo, no_face_jpeg, original):
    body = employee(photo, 1, "Ann", "Female", "HR", "img1.jpg")
    assert api.post("/create_new_faceEntry", body, format="json").status_code == 200
    duplicate = api.post("/create_new_faceEntry", body, format="json")
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_employee_code"
    assert "already exists" in duplicate.json()["message"]
    same_face = api.post("/create_new_faceEntry", employee(photo, 2, "Twin", "Female", "HR", "img2.jpg"),
                         format="json")
    assert same_face.status_code == 409 and same_face.json()["code"] == "duplicate_face"
    no_face = api.post("/create_new_faceEntry", {**employee(photo, 3, "X", "", ""), "Images": [b64(no_face_jpeg)]},
                       format="json")
    assert no_face.status_code == 422 and no_face.json()["code"] == "no_face" and no_face.json()["message"]
    # several images, one bad: nothing is stored
    mixed = {**employee(photo, 4, "Y", "", "", "img3.jpg"), "Images": [b64(photo("img3.jpg")), b64(no_face_jpeg)]}
    assert api.post("/create_new_faceEntry", mixed, format="json").status_code == 422
    assert not FaceEntry.objects.filter(employee_code="4").exists()


def test_consent_is_still_required_by_default(api, photo):
    body = employee(photo, 1, "Ann", "Female", "HR", "img1.jpg")
    refused = api.post("/create_new_faceEntry", body, format="json")
    assert refused.status_code == 422 and refused.json()["code"] == "consent_required"
    assert api.post("/create_new_faceEntry", {**body, "ConsentReference": "F-1"}, format="json").status_code == 200


def test_authentication_and_permissions_apply(client, db):
    assert client.get("/Data/").status_code in (401, 403)
    assert client.post("/recalculate_embeddings").status_code in (401, 403)

"""Who may learn what: photos, embeddings and whose face a photo is follow the user's permissions."""

import base64

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from tests.factories import register

pytestmark = [pytest.mark.django_db, pytest.mark.faces]


def client_with(*codenames):
    user = User.objects.create_user("u-" + "-".join(codenames) or "nobody")
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = APIClient()
    client.force_authenticate(user)
    return client


def b64(data):
    return base64.b64encode(data).decode()


def test_a_user_who_may_change_but_not_view_gets_no_photo_or_embedding_back(photo):
    register(photo, code="E001", image="img1.jpg")
    editor = client_with("change_faceentry")
    assert editor.patch("/api/entries/E001/?include=embeddings", {}, format="json").status_code == 403
    response = editor.patch("/api/entries/E001/", {"Department": "Sales"}, format="json")
    assert response.status_code == 200, response.content
    assert "Image" not in response.json() and "embeddings" not in response.json()
    assert response.json()["Department"] == "Sales"


def test_embeddings_need_their_own_permission(photo):
    register(photo, code="E001", image="img1.jpg")
    viewer = client_with("view_faceentry")
    assert viewer.get("/api/entries/E001/").json()["Image"]
    denied = viewer.get("/api/entries/E001/?include=embeddings")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    allowed = client_with("view_faceentry", "view_embedding").get("/api/entries/E001/?include=embeddings")
    assert [len(e) for e in allowed.json()["embeddings"]] == [192]


def test_a_duplicate_face_names_the_other_employee_only_to_those_who_may_view(photo):
    register(photo, code="E001", name="Ann Lee", image="img1.jpg")
    body = {"Employeecode": "E002", "Name": "Someone", "Image": b64(photo("img2.jpg")), "consent_reference": "F-2"}
    blind = client_with("add_faceentry").post("/api/entries/", body, format="json")
    assert blind.status_code == 409 and blind.json()["code"] == "duplicate_face"
    assert "E001" not in blind.content.decode() and "Ann" not in blind.content.decode()
    seeing = client_with("add_faceentry", "view_faceentry").post("/api/entries/", body, format="json")
    assert seeing.json()["details"]["employee_code"] == "E001"


def test_the_admin_add_form_does_not_name_the_other_employee_without_view_permission(client, photo):
    from django.core.files.uploadedfile import SimpleUploadedFile

    register(photo, code="E001", name="Ann Lee", image="img1.jpg")
    clerk = User.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(codename="add_faceentry"))
    client.force_login(clerk)
    page = client.post("/admin/entries/faceentry/add/", {
        "employee_code": "E002", "name": "Twin", "gender": "unspecified", "department": "",
        "photos-TOTAL_FORMS": 0, "photos-INITIAL_FORMS": 0, "photo": SimpleUploadedFile("p.jpg", photo("img2.jpg")),
        "consent_reference": "F-2",
    }).content.decode()
    assert "matches another employee" in page and "E001" not in page and "Ann Lee" not in page

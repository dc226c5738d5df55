"""Who may learn what: photos, embeddings and whose face a photo is follow the user's permissions."""

import base64

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]


def client_with(*codenames):
    user = User.objects.create_user("u-" + "-".join(codenames) or "nobody")
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = APIClient()
    client.force_authenticate(user)
    return client


def b64(data):
    return base64.b64encode(data).decode()


def test_a_user_who_may_change_but_not_view_gets_no_photo_or_embedding_back():
    factories.entry("E001")
    editor = client_with("change_faceentry")
    assert editor.patch("/api/entries/E001/?include=embeddings", {}, format="json").status_code == 403
    response = editor.patch("/api/entries/E001/", {"Department": "Sales"}, format="json")
    assert response.status_code == 200, response.content
    assert "Image" not in response.json() and "embeddings" not in response.json()
    assert response.json()["Department"] == "Sales"


def test_embeddings_need_their_own_permission():
    factories.entry("E001")
    viewer = client_with("view_faceentry")
    assert viewer.get("/api/entries/E001/").json()["Image"]
    denied = viewer.get("/api/entries/E001/?include=embeddings")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    allowed = client_with("view_faceentry", "view_embedding").get("/api/entries/E001/?include=embeddings")
    assert [len(e) for e in allowed.json()["embeddings"]] == [192]


def test_a_duplicate_face_names_the_other_employee_only_to_those_who_may_view():
    factories.entry("E001", "ann", name="Ann Lee")
    body = {"Employeecode": "E002", "Name": "Someone", "Image": b64(factories.face_photo("ann", 1)),
            "consent_reference": "F-2"}
    blind = client_with("add_faceentry").post("/api/entries/", body, format="json")
    assert blind.status_code == 409 and blind.json()["code"] == "duplicate_face"
    assert "E001" not in blind.content.decode() and "Ann" not in blind.content.decode()
    seeing = client_with("add_faceentry", "view_faceentry").post("/api/entries/", body, format="json")
    assert seeing.json()["details"]["employee_code"] == "E001"


def test_the_admin_add_form_does_not_name_the_other_employee_without_view_permission(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    factories.entry("E001", "ann", name="Ann Lee")
    clerk = User.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(codename="add_faceentry"))
    client.force_login(clerk)
    page = client.post("/admin/entries/faceentry/add/", {
        "employee_code": "E002", "name": "Twin", "gender": "unspecified", "department": "",
        "photos-TOTAL_FORMS": 0, "photos-INITIAL_FORMS": 0, "consent_reference": "F-2",
        "photo": SimpleUploadedFile("p.jpg", factories.face_photo("ann", 1)),
    }).content.decode()
    assert "matches another employee" in page and "E001" not in page and "Ann Lee" not in page


# The admin follows the API's rule: photos, face thumbnails and identify need "view"; change alone shows none.
ADMIN = "/admin/entries/faceentry/"
ADMIN_USERS = {  # user kind -> (permissions, whether they may see faces)
    "superuser": (None, True),
    "viewer": (("view_faceentry", "view_embedding"), True),
    "view without embeddings": (("view_faceentry",), True),
    "change-only": (("change_faceentry",), False),
    "add-only": (("add_faceentry",), False),
}


@pytest.fixture
def admin_as(client):
    def log_in(kind):
        codenames, _ = ADMIN_USERS[kind]
        if codenames is None:
            user = User.objects.create_superuser("boss", "b@example.com", "pw")
        else:
            user = User.objects.create_user(kind.replace(" ", "-"), password="pw", is_staff=True)
            user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        client.force_login(user)
        return client
    return log_in


@pytest.fixture
def ann():
    return factories.entry("E001", "ann", name="Ann Lee", photos=2)


@pytest.mark.parametrize("kind", ADMIN_USERS)
def test_the_admin_photo_view_needs_the_view_permission(kind, admin_as, ann):
    client, sees = admin_as(kind), ADMIN_USERS[kind][1]
    response = client.get(f"{ADMIN}{ann.pk}/photo/")
    assert response.status_code == (200 if sees else 403)
    assert (response.content == factories.face_photo("ann")) is sees


@pytest.mark.parametrize("kind", ADMIN_USERS)
def test_identify_in_the_admin_needs_the_view_permission(kind, admin_as, ann):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client, sees = admin_as(kind), ADMIN_USERS[kind][1]
    assert client.get(f"{ADMIN}identify/").status_code == (200 if sees else 403)
    response = client.post(f"{ADMIN}identify/", {"photo": SimpleUploadedFile("p.jpg", factories.face_photo("ann", 3))})
    assert response.status_code == (200 if sees else 403)
    assert ("Ann Lee" in response.content.decode()) is sees
    listed = client.get(ADMIN)
    if listed.status_code == 200:  # the change list offers identify only to those who may use it
        assert (f"{ADMIN}identify/" in listed.content.decode()) is sees


@pytest.mark.parametrize("kind", ADMIN_USERS)
def test_face_thumbnails_in_the_change_list_need_the_view_permission(kind, admin_as, ann):
    client, sees = admin_as(kind), ADMIN_USERS[kind][1]
    response = client.get(ADMIN)
    if kind == "add-only":  # Django's own rule: the list needs view or change
        assert response.status_code == 403
        return
    page = response.content.decode()
    assert response.status_code == 200 and "E001" in page
    assert ("data:image/jpeg;base64," in page) is sees


@pytest.mark.parametrize("kind", ADMIN_USERS)
def test_the_change_page_shows_the_photo_and_more_photos_only_with_the_view_permission(kind, admin_as, ann):
    client, sees = admin_as(kind), ADMIN_USERS[kind][1]
    response = client.get(f"{ADMIN}{ann.pk}/change/")
    if kind == "add-only":
        assert response.status_code == 403
        return
    page = response.content.decode()
    assert response.status_code == 200 and "Ann Lee" in page
    assert (f"{ADMIN}{ann.pk}/photo/" in page) is sees  # the current photo
    assert ("data:image/jpeg;base64," in page) is sees  # the more-photos inline's faces
    vector = ann.vector
    assert f"{float(vector[0]):.6f}"[:8] not in page  # nobody reads embedding values in the admin


def test_a_change_only_user_still_changes_an_entry_and_adds_photos_in_the_admin(admin_as, ann):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from entries.models import FaceEntry

    client = admin_as("change-only")
    extra = ann.photos.get()
    response = client.post(f"{ADMIN}{ann.pk}/change/", {
        "employee_code": "E001", "name": "Ann Lee", "gender": "female", "department": "Sales",
        "consent_reference": "F-1", "photos-TOTAL_FORMS": 2, "photos-INITIAL_FORMS": 1,
        "photos-0-id": extra.pk, "photos-0-entry": ann.pk,
        "photos-1-photo": SimpleUploadedFile("p.jpg", factories.face_photo("ann", 8))})
    assert response.status_code == 302, response.content.decode()[-3000:]
    entry = FaceEntry.objects.get(pk=ann.pk)
    assert entry.department == "Sales" and entry.photos.count() == 2

"""The Django admin as HR staff use it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from entries.models import FaceEntry
from tests import factories
from tests.factories import face_photo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]
CHANGELIST = "/admin/entries/faceentry/"


def upload(data, name="photo.jpg"):
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def form(photo_bytes=None, extra_photos=(), **fields):
    """The entry form as the browser posts it, with its inline of extra photos."""
    data = {"employee_code": "E001", "name": "Ann Lee", "gender": "female", "department": "HR",
            "consent_reference": "F-1",
            "photos-TOTAL_FORMS": len(extra_photos), "photos-INITIAL_FORMS": 0, **fields}
    if photo_bytes is not None:
        data["photo"] = upload(photo_bytes)
    for i, extra in enumerate(extra_photos):
        data[f"photos-{i}-photo"] = upload(extra, f"extra{i}.jpg")
    return data


def test_register_from_the_add_page_then_see_it_listed_with_its_thumbnail(admin_client):
    response = admin_client.post(f"{CHANGELIST}add/", form(face_photo("ann")))
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = FaceEntry.objects.get(employee_code="E001")
    assert entry.embedding_is_current()
    page = admin_client.get(CHANGELIST).content.decode()
    assert "E001" in page and "data:image/jpeg;base64," in page


@pytest.mark.faces
def test_a_photo_without_a_face_is_refused_with_a_clear_message(admin_client, no_face_jpeg):
    response = admin_client.post(f"{CHANGELIST}add/", form(no_face_jpeg))
    assert response.status_code == 200
    assert "No face was found" in response.content.decode()
    assert not FaceEntry.objects.exists()


@pytest.mark.faces
def test_a_group_photo_is_refused_unless_the_largest_face_is_chosen(admin_client, photo):
    response = admin_client.post(f"{CHANGELIST}add/", form(photo("couple.jpg")))
    assert "2 faces were found" in response.content.decode()
    assert not FaceEntry.objects.exists()
    response = admin_client.post(f"{CHANGELIST}add/", form(photo("couple.jpg"), largest_face="on"))
    assert response.status_code == 302


def test_a_file_that_is_not_an_image_is_refused(admin_client):
    response = admin_client.post(f"{CHANGELIST}add/", form(b"GIF89a nonsense"))
    assert "not a JPEG, PNG, WebP or HEIC" in response.content.decode()


def test_duplicate_employee_code_is_a_form_error(admin_client):
    factories.entry("E001")
    response = admin_client.post(f"{CHANGELIST}add/", form(face_photo("bob")))
    assert response.status_code == 200 and "already exists" in response.content.decode()


def test_change_department_keeps_the_embedding_and_a_new_photo_replaces_it(admin_client):
    entry = factories.entry("E001")
    before = entry.vector.copy()
    url = f"{CHANGELIST}{entry.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "MobileFaceNet, 192 dimensions" in page and 'name="embedding"' not in page  # read-only
    assert admin_client.post(url, form(department="Sales")).status_code == 302
    entry.refresh_from_db()
    assert entry.department == "Sales" and (entry.vector == before).all()
    assert admin_client.post(url, form(face_photo("E001", 1), department="Sales")).status_code == 302
    entry.refresh_from_db()
    assert (entry.vector != before).any() and bytes(entry.image) == face_photo("E001", 1)


def test_search_and_filters(admin_client):
    factories.entry("E001", name="Ann", department="HR")
    factories.entry("E002", name="Bob", department="IT")
    assert "E002" not in admin_client.get(CHANGELIST, {"q": "Ann"}).content.decode()
    page = admin_client.get(CHANGELIST, {"department": "IT"}).content.decode()
    assert "E002" in page and "E001" not in page


def test_photo_is_served_only_to_staff_who_may_view(admin_client, client, django_user_model):
    entry = factories.entry("E001")
    url = f"{CHANGELIST}{entry.pk}/photo/"
    response = admin_client.get(url)
    assert response.status_code == 200 and response.content == face_photo("E001")
    assert response["Content-Type"] == "image/jpeg"
    client.logout()
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(url).status_code == 403


def test_delete_and_bulk_delete(admin_client):
    first = factories.entry("E001")
    factories.entry("E002")
    factories.entry("E003")
    assert admin_client.post(f"{CHANGELIST}{first.pk}/delete/", {"post": "yes"}).status_code == 302
    ids = list(FaceEntry.objects.values_list("pk", flat=True))
    response = admin_client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": ids, "post": "yes"})
    assert response.status_code == 302
    assert not FaceEntry.objects.exists()

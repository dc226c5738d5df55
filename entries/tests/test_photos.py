"""Several photos per employee: enrolment, identify and verify over all of them, API, admin, import."""

import base64

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from entries import identification, services
from entries.exceptions import DuplicateFace, PhotoAlreadyEnrolled, TooManyPhotos
from entries.models import FaceEntry, FacePhoto
from tests.factories import register

pytestmark = [pytest.mark.django_db, pytest.mark.faces]


def b64(data):
    return base64.b64encode(data).decode()


@pytest.fixture
def colleagues(photo):
    """Eight other employees from the shared photos, one photo each."""
    for number, image in enumerate(("img1.jpg", "img3.jpg", "img9.jpg", "img16.jpg", "img18.jpg", "img20.jpg",
                                    "img24.jpg", "img30.jpg"), start=1):
        register(photo, code=f"C{number:02d}", image=image, allow_duplicate_face=True)


@pytest.mark.lfw
def test_an_employee_with_three_photos_is_found_where_one_photo_failed(lfw_photo, colleagues):
    # Given Zhang Ziyi enrolled from one photo, another photo of her is not recognised
    ziyi = services.entry_register(employee_code="Z1", name="Zhang Ziyi", image=lfw_photo("Zhang_Ziyi", 1),
                                   consent_reference="F-Z1")
    probe = lfw_photo("Zhang_Ziyi", 4)
    assert identification.identify(image=probe).faces[0].decision == "unknown"
    # When two more of her photos are enrolled
    services.photo_add(entry=ziyi, image=lfw_photo("Zhang_Ziyi", 2))
    services.photo_add(entry=ziyi, image=lfw_photo("Zhang_Ziyi", 3))
    # Then the same photo finds her, by her best-matching photo, and verify agrees
    face = identification.identify(image=probe).faces[0]
    assert face.decision == "Z1" and face.confidence > 0.9
    assert identification.verify(image=probe, entry=ziyi).match


def test_every_photo_keeps_its_own_embedding_and_deleting_the_entry_removes_them_all(photo):
    ann = register(photo, code="E001", image="img1.jpg")
    extra = services.photo_add(entry=ann, image=photo("img2.jpg"))
    assert extra.embedding_is_current() and extra.embedding_model == ann.embedding_model
    assert [len(t) for t in ann.templates(ann.embedding_model)] == [192, 192]
    services.entry_delete(entry=ann)
    assert not FacePhoto.objects.exists()
    assert identification.identify(image=photo("img2.jpg")).faces[0].decision == "unknown"


def test_removing_a_photo_stops_it_matching(photo):
    ann = register(photo, code="E001", image="img1.jpg")
    extra = services.photo_add(entry=ann, image=photo("img2.jpg"))
    before = identification.identify(image=photo("img2.jpg")).faces[0].candidates[0].similarity
    services.photo_remove(photo=extra)
    after = identification.identify(image=photo("img2.jpg")).faces[0].candidates[0].similarity
    assert before > 0.99 > after


def test_another_employees_face_the_same_photo_twice_and_too_many_photos_are_refused(photo, settings):
    ann = register(photo, code="E001", image="img1.jpg")
    register(photo, code="E002", image="img3.jpg")
    with pytest.raises(DuplicateFace):
        services.photo_add(entry=ann, image=photo("img3.jpg"))  # E002's own photo
    with pytest.raises(PhotoAlreadyEnrolled):
        services.photo_add(entry=ann, image=photo("img1.jpg"))
    settings.FACEREC = {"MAX_PHOTOS_PER_ENTRY": 2}
    services.photo_add(entry=ann, image=photo("img2.jpg"))
    with pytest.raises(TooManyPhotos):
        services.photo_add(entry=ann, image=photo("img5.jpg"))
    assert ann.photos.count() == 1


def test_api_lists_adds_and_removes_photos(api, photo):
    register(photo, code="E001", image="img1.jpg")
    url = "/api/entries/E001/faces/"
    added = api.post(url, {"Image": b64(photo("img2.jpg"))}, format="json")
    assert added.status_code == 201, added.content
    listed = api.get(url).json()
    assert [p["id"] for p in listed] == ["main", added.json()["id"]] and listed[0]["primary"]
    entry = api.get("/api/entries/E001/?include=embeddings").json()
    assert entry["photos"] == 2 and [len(e) for e in entry["embeddings"]] == [192, 192]
    assert api.delete(f"{url}{added.json()['id']}/").status_code == 204
    assert api.delete(f"{url}{added.json()['id']}/").json()["code"] == "not_found"
    assert len(api.get(url).json()) == 1


def test_api_photo_errors_are_json_with_a_code(api, photo, no_face_jpeg):
    register(photo, code="E001", image="img1.jpg")
    url = "/api/entries/E001/faces/"
    assert api.post(url, {"Image": b64(no_face_jpeg)}, format="json").json()["code"] == "no_face"
    assert api.post(url, {"Image": b64(photo("img1.jpg"))}, format="json").json()["code"] == "photo_already_enrolled"
    assert api.post("/api/entries/NOPE/faces/", {"Image": b64(photo("img2.jpg"))}, format="json").status_code == 404


def test_adding_a_photo_needs_the_change_permission(photo):
    register(photo, code="E001", image="img1.jpg")
    viewer = User.objects.create_user("viewer")
    viewer.user_permissions.set(Permission.objects.filter(codename="view_faceentry"))
    client = APIClient()
    client.force_authenticate(viewer)
    assert client.get("/api/entries/E001/faces/").status_code == 200
    assert client.post("/api/entries/E001/faces/", {"Image": b64(photo("img2.jpg"))},
                       format="json").status_code == 403


def test_admin_adds_an_extra_photo_inline(admin_client, photo):
    from entries.tests.test_admin import CHANGELIST, form

    entry = register(photo, code="E001", image="img1.jpg")
    response = admin_client.post(f"{CHANGELIST}{entry.pk}/change/", form(extra_photos=[photo("img2.jpg")]))
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    assert entry.photos.count() == 1
    page = admin_client.get(f"{CHANGELIST}{entry.pk}/change/").content.decode()
    assert "2 photo(s) enrolled" in page and "MobileFaceNet" in page


def test_import_a_folder_per_employee(tmp_path, photo):
    from django.core.management import call_command

    for code, images in {"ANN": ("img1.jpg", "img2.jpg", "img5.jpg"), "BOB": ("img3.jpg",)}.items():
        (tmp_path / code).mkdir()
        for image in images:
            (tmp_path / code / image).write_bytes(photo(image))
    call_command("import_faces", str(tmp_path), "--no-progress", "--workers", "1", "--consent-reference", "F",
                 stdout=open("/dev/null", "w"))
    ann = FaceEntry.objects.get(employee_code="ANN")
    assert ann.photos.count() == 2 and FaceEntry.objects.get(employee_code="BOB").photos.count() == 0
    call_command("import_faces", str(tmp_path), "--no-progress", "--workers", "1", "--consent-reference", "F",
                 stdout=open("/dev/null", "w"))
    assert ann.photos.count() == 2  # re-running changes nothing

"""HR's uploads in the admin: the "More photos" inline's columns, a photo kept across a form error, the review of
two alike faces."""

import dataclasses
import io
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from entries import conf, services
from entries.exceptions import MultipleFacesFound, NoFaceFound
from entries.models import FaceEntry, KeptUpload, PossibleDuplicate, Resolution
from entries.recognition import faces
from tests import factories
from tests.factories import face_photo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]
CHANGELIST = "/admin/entries/faceentry/"


def inline_table(page: bytes):
    """The "More photos" inline as the browser shows it: its column headers, and each row's visible cells as text.

    The admin hides a cell classed "hidden" (display: none), so the cells after it move one column left.
    """
    table = BeautifulSoup(page, "html.parser").select_one("#photos-group table")
    headers = [th.get_text(" ", strip=True).upper() for th in table.select("thead th")]
    rows = [[" ".join(td.get_text(" ", strip=True).split()) for td in tr.find_all("td", recursive=False)
             if "hidden" not in td.get("class", [])]
            for tr in table.select("tbody tr.form-row") if "empty-form" not in tr.get("class", [])]
    return headers, rows


def test_each_column_of_the_more_photos_inline_sits_under_its_header(admin_client):
    entry = factories.entry("E001", photos=2)
    photo = entry.photos.get()
    headers, rows = inline_table(admin_client.get(f"{CHANGELIST}{entry.pk}/change/").content)
    assert headers == ["", "FACE", "PHOTO", "FROM", "EMBEDDING MODEL", "ADDED", "DELETE?"]
    enrolled, new = rows
    cells = dict(zip(headers, enrolled, strict=True))  # the first column: the photo's name and its hidden ids
    assert cells["FROM"] == "HR" and cells["EMBEDDING MODEL"] == photo.embedding_model
    assert str(photo.created_at.year) in cells["ADDED"] and cells["DELETE?"] == ""
    assert cells["PHOTO"] == "", "an enrolled photo is kept or deleted, never replaced: no file input"
    assert len(new) == len(headers)


@pytest.mark.faces
def test_the_face_hr_picks_from_a_photo_of_several_is_the_one_enrolled(photo):
    with pytest.raises(MultipleFacesFound) as refused:
        faces.analyse(photo("couple.jpg"))
    largest, other = (tuple(b.values()) for b in refused.value.details["boxes"])
    picked = faces.analyse(photo("couple.jpg"), face_box=other)
    assert picked.box == other and faces.analyse(photo("couple.jpg"), largest_face=True).box == largest
    with pytest.raises(NoFaceFound, match="No face was found at the chosen place"):
        faces.analyse(photo("couple.jpg"), face_box=(0, 0, 10, 10))


@pytest.mark.faces
def test_the_services_register_and_replace_with_the_face_chosen(photo):
    with pytest.raises(MultipleFacesFound) as refused:
        faces.analyse(photo("couple.jpg"))
    largest, other = (tuple(b.values()) for b in refused.value.details["boxes"])
    entry = services.entry_register(employee_code="E001", name="Ann", image=photo("couple.jpg"), face_box=other,
                                    consent_reference="F-1")
    assert tuple(entry.face_box) == other
    services.entry_update(entry=entry, image=photo("couple.jpg"))  # the same photo again: nothing to do
    assert tuple(FaceEntry.objects.get().face_box) == other
    services.entry_update(entry=entry, image=photo("couple.jpg"), face_box=largest)  # the same photo, the other face
    assert tuple(FaceEntry.objects.get().face_box) == largest


# --- A photo kept across a refused form -------------------------------------------------------------

def entry_form(photo_bytes=None, name="ann.jpg", **fields):
    """The add form as the browser posts it (no more photos)."""
    data = {"employee_code": "E001", "name": "Ann Lee", "gender": "female", "department": "HR",
            "consent_reference": "F-1", "photos-TOTAL_FORMS": 0, "photos-INITIAL_FORMS": 0, **fields}
    if photo_bytes is not None:
        data["photo"] = SimpleUploadedFile(name, photo_bytes, content_type="image/jpeg")
    return data


def kept_token(response) -> str:
    field = BeautifulSoup(response.content, "html.parser").select_one("input[name=photo_kept]")
    assert field is not None, "the refused form keeps no photo"
    return field["value"]


def test_a_form_refused_for_missing_consent_keeps_the_photo_and_registers_it_once_corrected(admin_client):
    refused = admin_client.post(f"{CHANGELIST}add/", entry_form(face_photo("ann"), consent_reference=""))
    assert refused.status_code == 200 and not FaceEntry.objects.exists()
    page = refused.content.decode()
    assert "Photo kept: <strong>ann.jpg</strong>" in page and 'alt="the kept photo"' in page
    response = admin_client.post(f"{CHANGELIST}add/", entry_form(photo_kept=kept_token(refused)))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert bytes(FaceEntry.objects.get().image) == face_photo("ann")
    assert not KeptUpload.objects.exists(), "registered: the kept photo is deleted"


def test_a_duplicate_face_keeps_the_photo_beside_the_matching_one_and_hr_allows_it_without_sending_it_again(
        admin_client):
    e000 = factories.entry("E000", person="ann")
    refused = admin_client.post(f"{CHANGELIST}add/", entry_form(face_photo("ann", 2)))
    assert "This face matches employee E000" in refused.content.decode()
    compared = BeautifulSoup(refused.content, "html.parser").select(".facerec-kept .facerec-compare img")
    assert [img["alt"] for img in compared] == ["the kept photo", "photo of E000"]  # side by side
    assert compared[1]["src"] == f"{CHANGELIST}{e000.pk}/photo/"
    response = admin_client.post(f"{CHANGELIST}add/", entry_form(photo_kept=kept_token(refused),
                                                                 allow_duplicate_face="on"))
    assert response.status_code == 302
    assert bytes(FaceEntry.objects.get(employee_code="E001").image) == face_photo("ann", 2)


def test_a_refused_extra_photo_keeps_the_main_one(admin_client):
    data = {**entry_form(face_photo("ann")), "photos-TOTAL_FORMS": 1,
            "photos-0-photo": SimpleUploadedFile("extra.jpg", factories.no_face_photo(), content_type="image/jpeg")}
    refused = admin_client.post(f"{CHANGELIST}add/", data)
    assert "No face was found" in refused.content.decode() and not FaceEntry.objects.exists()
    response = admin_client.post(f"{CHANGELIST}add/", entry_form(photo_kept=kept_token(refused)))
    assert response.status_code == 302
    assert bytes(FaceEntry.objects.get().image) == face_photo("ann")


def test_a_photo_refused_for_itself_is_not_kept(admin_client):
    refused = admin_client.post(f"{CHANGELIST}add/", entry_form(factories.no_face_photo()))
    assert "No face was found" in refused.content.decode()
    assert "photo_kept" not in refused.content.decode() and not KeptUpload.objects.exists()


def test_a_kept_photo_is_only_its_uploaders_and_only_for_an_hour(admin_client, client, django_user_model):
    refused = admin_client.post(f"{CHANGELIST}add/", entry_form(face_photo("ann"), consent_reference=""))
    token = kept_token(refused)
    other = django_user_model.objects.create_superuser("hr2", "hr2@example.com", "pw")
    client.force_login(other)
    response = client.post(f"{CHANGELIST}add/", entry_form(photo_kept=token))
    assert "The photo kept from before has expired" in response.content.decode()
    assert not FaceEntry.objects.exists()
    KeptUpload.objects.update(created_at=timezone.now() - timedelta(seconds=conf.get("KEPT_UPLOAD_SECONDS") + 1))
    response = admin_client.post(f"{CHANGELIST}add/", entry_form(photo_kept=token))
    assert "The photo kept from before has expired: choose the file again." in response.content.decode()
    assert not FaceEntry.objects.exists()


def test_purge_expired_deletes_the_kept_photos_past_their_hour(admin_client):
    admin_client.post(f"{CHANGELIST}add/", entry_form(face_photo("ann"), consent_reference=""))
    admin_client.post(f"{CHANGELIST}add/", entry_form(face_photo("bob"), "bob.jpg", consent_reference=""))
    KeptUpload.objects.filter(name="ann.jpg").update(created_at=timezone.now() - timedelta(hours=2))
    out = io.StringIO()
    call_command("purge_expired", stdout=out)
    assert "Deleted 1 expired photo(s) kept from refused admin forms" in out.getvalue()
    assert KeptUpload.objects.count() == 1


def test_the_add_form_still_needs_a_photo(admin_client):
    response = admin_client.post(f"{CHANGELIST}add/", entry_form())
    assert response.context["adminform"].form.errors["photo"] == ["This field is required."]


@pytest.fixture
def group_photo(monkeypatch):
    """A prepared photo of two people: analysing it refuses several faces unless one is picked by its box."""
    data, boxes = face_photo("group"), [(10, 10, 60, 60), (80, 20, 40, 40)]
    analyse = faces.analyse

    def analyse_group(image, *, largest_face=False, check_quality=True, face_box=None):
        if image != data:
            return analyse(image, largest_face=largest_face, check_quality=check_quality, face_box=face_box)
        if face_box is None and not largest_face:
            raise MultipleFacesFound("2 faces were found in the photo.", count=2,
                                     boxes=[faces.box_dict(box) for box in boxes])
        return dataclasses.replace(factories.face("group"), box=tuple(face_box or boxes[0]))

    monkeypatch.setattr(faces, "analyse", analyse_group)
    return data, boxes


def test_for_a_photo_of_several_people_hr_picks_the_face_from_the_numbered_ones(admin_client, group_photo):
    data, boxes = group_photo
    refused = admin_client.post(f"{CHANGELIST}add/", entry_form(data, consent_reference=""))
    page = BeautifulSoup(refused.content, "html.parser")
    choices = {radio["value"]: radio.find_parent("label").get_text(strip=True)
               for radio in page.select("input[name=chosen_face][type=radio]")}
    assert choices == {"10,10,60,60": "Face 1", "80,20,40,40": "Face 2"}
    assert refused.context["adminform"].form.errors["photo"] == [
        "2 faces were found in the photo. Choose the employee's face, numbered on the photo below, or tick "
        '"Use the largest face".']
    response = admin_client.post(f"{CHANGELIST}add/", entry_form(photo_kept=kept_token(refused),
                                                                 chosen_face="80,20,40,40"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert tuple(FaceEntry.objects.get().face_box) == boxes[1]


def test_a_face_picked_on_a_form_refused_again_stays_picked(admin_client, group_photo):
    data, _ = group_photo
    refused = admin_client.post(f"{CHANGELIST}add/", entry_form(data))
    again = admin_client.post(f"{CHANGELIST}add/", entry_form(photo_kept=kept_token(refused), chosen_face="80,20,40,40",
                                                              consent_reference=""))
    assert "Record the employee's consent" in again.context["adminform"].form.errors["consent_reference"][0]
    picked = BeautifulSoup(again.content, "html.parser").select_one("input[name=chosen_face][checked]")
    assert picked["value"] == "80,20,40,40" and kept_token(again) == kept_token(refused)


# --- Two alike faces, reviewed side by side ------------------------------------------------------------

@pytest.fixture
def pair():
    """E002 registered, flagged as like E001 (both prepared photos, in the band between the two thresholds)."""
    from entries.tests.test_duplicates import inside, register

    factories.entry("E001", "ann")
    register(inside())
    return PossibleDuplicate.objects.get()


def test_hr_compares_the_two_photos_side_by_side_and_confirms_different_people(admin_client, pair):
    listing = BeautifulSoup(admin_client.get("/admin/entries/possibleduplicate/").content, "html.parser")
    review_url = f"/admin/entries/possibleduplicate/{pair.pk}/change/"
    assert listing.select_one(f'#result_list a[href="{review_url}"]').get_text(strip=True) == "Compare"

    page = BeautifulSoup(admin_client.get(review_url).content, "html.parser")
    sides = page.select(".facerec-compare figure")
    assert [side.img["src"] for side in sides] == [f"/admin/entries/faceentry/{e.pk}/photo/"
                                                   for e in (pair.entry, pair.other)]
    assert [side.figcaption.get_text(" ", strip=True).split(" ")[0] for side in sides] == ["E002", "E001"]
    assert f"{pair.similarity:.3f}" in page.get_text()
    assert [script for script in page.select("script") if not script.get("src")] == [], "no inline script (CSP)"
    for entry in (pair.entry, pair.other):  # the photos are served (and audited) by the entries' photo view
        assert admin_client.get(f"/admin/entries/faceentry/{entry.pk}/photo/").status_code == 200
    assert AuditEvent.objects.filter(action="view_photo", employees=",E001,").exists()

    confirmed = admin_client.post(review_url, {"different_people": "1"}, follow=True)
    assert "E002 and E001 are recorded as different people." in confirmed.content.decode()
    pair.refresh_from_db()
    assert pair.resolution == Resolution.DIFFERENT and pair.resolved_by.username == "admin"
    decided = AuditEvent.objects.get(action="resolve_duplicate")
    assert decided.employees == ",E001,E002," and decided.details["resolution"] == "different"

    twice = admin_client.post(review_url, {"different_people": "1"}, follow=True)
    assert "E002 and E001 were already resolved." in twice.content.decode()
    assert AuditEvent.objects.filter(action="resolve_duplicate").count() == 1
    again = BeautifulSoup(admin_client.get(review_url).content, "html.parser")
    assert "Resolved: different people" in again.get_text(" ", strip=True)
    assert again.select("[name=different_people]") == []


def test_only_those_who_may_change_the_pairs_confirm_one(client, django_user_model, pair):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__in=["view_possibleduplicate", "view_faceentry"]))
    client.force_login(viewer)
    review_url = f"/admin/entries/possibleduplicate/{pair.pk}/change/"
    page = BeautifulSoup(client.get(review_url).content, "html.parser")
    assert len(page.select(".facerec-compare figure")) == 2 and page.select("[name=different_people]") == []
    assert client.post(review_url, {"different_people": "1"}).status_code == 403
    pair.refresh_from_db()
    assert pair.resolved_at is None


def test_who_the_kept_photo_matches_is_shown_only_to_those_who_may_view_entries(client, django_user_model):
    from django.contrib.auth.models import Permission

    factories.entry("E000", person="ann")
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(codename="add_faceentry"))
    client.force_login(clerk)
    refused = client.post(f"{CHANGELIST}add/", entry_form(face_photo("ann", 2)))
    assert "This face matches another employee" in refused.content.decode()
    compared = BeautifulSoup(refused.content, "html.parser").select(".facerec-kept .facerec-compare img")
    assert [img["alt"] for img in compared] == ["the kept photo"]

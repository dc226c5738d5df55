"""The duplicate-face guard: refuse another employee's face, flag one only like it for HR, pass the rest.

Prepared faces (tests.factories.lookalike) sit at chosen similarities to an enrolled employee's, so each test
says where it stands against the two thresholds: identify's (warn_at) and the guard's own (refuse_at).
"""

import base64

import pytest

from audit.models import AuditEvent
from entries import conf, identification, services
from entries.exceptions import DuplicateFace
from entries.models import FaceEntry, PossibleDuplicate, Resolution, photos_of_model
from entries.recognition import calibration
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ann")]


def b64(data):
    return base64.b64encode(data).decode()


@pytest.fixture
def ann():
    """E001, the employee everybody below is (nearly) like: one photo, a gallery of 1."""
    return factories.entry("E001", "ann")


def band():
    """(warn_at, refuse_at) for the next check: both rise with the photos enrolled."""
    model = conf.get("MODEL")
    size = max(1, photos_of_model(model))
    return calibration.identify_threshold(model, size), calibration.duplicate_threshold(model, size)


def middle():
    return sum(band()) / 2


def above():
    """Someone refused as ann: just over the refusal threshold."""
    return factories.lookalike("ann", band()[1] + 0.01)


def inside(number=0):
    """Someone like ann, in the middle of the band."""
    return factories.lookalike("ann", middle(), number)


def below():
    """Someone only a little like ann: under identify's threshold."""
    return factories.lookalike("ann", band()[0] - 0.02)


def register(face, code="E002", **fields):
    return services.entry_register(employee_code=code, name=f"Employee {code}", image=face.image, face=face,
                                   consent_reference="F", **fields)


# --- thresholds ----------------------------------------------------------------------------------

def test_the_refusal_threshold_comes_from_the_calibration_and_is_never_below_identifys(settings):
    model = conf.get("MODEL")
    for size in (1, 100, 1000):
        identify = calibration.identify_threshold(model, size)
        assert calibration.duplicate_threshold(model, size) == calibration.identify_threshold(model, size, fpir=0.001)
        assert calibration.duplicate_threshold(model, size) > identify
    settings.FACEREC = {"DUPLICATE_FPIR": 0.5}  # looser than identify's 1 %: identify's threshold still holds
    assert calibration.duplicate_threshold(model, 100) == calibration.identify_threshold(model, 100)
    settings.FACEREC = {"IDENTIFY_THRESHOLD": 0.95}  # a configured identify threshold too
    assert calibration.duplicate_threshold(model, 100) == 0.95


def test_the_check_names_the_nearest_employee_as_refused_or_possible():
    check = identification.duplicate_check(inside())
    assert (check.warn_at, check.refuse_at) == band()
    assert check.refused is None and check.possible.employee_code == "E001"
    assert identification.duplicate_check(above()).refused.employee_code == "E001"


# --- registering ---------------------------------------------------------------------------------

def test_a_face_at_or_above_the_refusal_threshold_is_refused():
    with pytest.raises(DuplicateFace) as refused:
        register(above())
    assert refused.value.details["employee_code"] == "E001"
    assert FaceEntry.objects.count() == 1 and not PossibleDuplicate.objects.exists()


def test_a_face_in_the_band_registers_names_whom_it_resembles_and_is_stored_for_hr():
    similarity = middle()
    bob = register(inside())
    assert [m.employee_code for m in bob.flagged] == ["E001"]
    pair = PossibleDuplicate.objects.get()
    assert (pair.entry, pair.other.employee_code) == (bob, "E001")
    assert pair.similarity == pytest.approx(similarity, abs=1e-3)
    assert pair.resolved_at is None and pair.resolution == ""
    create = AuditEvent.objects.get(action="create", employees__contains=",E002,")
    assert create.details["possible_duplicates"] == ["E001"]


def test_a_face_below_identifys_threshold_registers_silently():
    assert register(below()).flagged == []
    assert not PossibleDuplicate.objects.exists()


def test_allowing_a_duplicate_face_skips_the_refusal_and_the_flag():
    assert register(above(), allow_duplicate_face=True).flagged == []
    assert register(inside(), code="E003", allow_duplicate_face=True).flagged == []
    assert not PossibleDuplicate.objects.exists()


@pytest.mark.usefixtures("prepared_faces")  # entry_set_photos takes photos' bytes
def test_an_extra_photo_a_replaced_photo_and_a_new_set_of_photos_meet_the_same_guard():
    bob = factories.entry("E002", "bob")
    photo = services.photo_add(entry=bob, image=inside().image, face=inside())
    assert [m.employee_code for m in photo.flagged] == ["E001"]
    with pytest.raises(DuplicateFace):
        services.photo_add(entry=bob, image=above().image, face=above())
    cid = factories.entry("E003", "cid")
    updated = services.entry_update(entry=cid, image=inside(1).image, face=inside(1))
    assert [m.employee_code for m in updated.flagged] == ["E001"]
    dan = factories.entry("E004", "dan")
    replaced = services.entry_set_photos(entry=dan, images=[factories.face_photo("dan", 1), inside(2).image])
    assert [m.employee_code for m in replaced.flagged] == ["E001"]
    assert sorted(PossibleDuplicate.objects.values_list("entry__employee_code", flat=True)) == ["E002", "E003", "E004"]


def test_one_pair_per_two_employees_keeping_the_highest_similarity():
    bob = register(factories.lookalike("ann", band()[0] + 0.01))
    similarity, closer = middle(), inside()
    services.photo_add(entry=bob, image=closer.image, face=closer)
    pair = PossibleDuplicate.objects.get()
    assert pair.similarity == pytest.approx(similarity, abs=1e-3)


# --- HR's decision -------------------------------------------------------------------------------

def test_resolving_a_pair_records_who_and_when_and_is_audited(superuser):
    register(inside())
    pair = PossibleDuplicate.objects.get()
    assert services.possible_duplicate_resolve(pair=pair, resolved_by=superuser)
    pair.refresh_from_db()
    assert (pair.resolution, pair.resolved_by) == (Resolution.DIFFERENT, superuser) and pair.resolved_at
    assert not PossibleDuplicate.objects.open().exists()
    event = AuditEvent.objects.get(action="resolve_duplicate")
    assert event.employees == ",E001,E002," and event.details["resolution"] == "different"
    assert not services.possible_duplicate_resolve(pair=pair, resolved_by=superuser)  # decided once
    assert AuditEvent.objects.filter(action="resolve_duplicate").count() == 1


def test_a_decided_pair_stays_decided_when_the_face_is_flagged_again(superuser):
    bob = register(factories.lookalike("ann", band()[0] + 0.01))
    services.possible_duplicate_resolve(pair=PossibleDuplicate.objects.get(), resolved_by=superuser)
    services.photo_add(entry=bob, image=inside().image, face=inside())
    assert PossibleDuplicate.objects.count() == 1 and not PossibleDuplicate.objects.open().exists()


def test_a_pair_is_deleted_with_either_employee(ann):
    bob = register(inside())
    cid = register(inside(1), code="E003")
    assert PossibleDuplicate.objects.count() == 2
    services.entry_delete(entry=bob)  # the one who resembles
    assert list(PossibleDuplicate.objects.values_list("entry", flat=True)) == [cid.pk]
    services.entry_delete(entry=ann)  # the one resembled
    assert not PossibleDuplicate.objects.exists()


# --- API -----------------------------------------------------------------------------------------

@pytest.mark.usefixtures("prepared_faces")
def test_the_api_registers_a_possible_duplicate_with_a_warning(api):
    similarity = middle()
    body = {"Employeecode": "E002", "Name": "Bob", "Image": b64(inside().image), "consent_reference": "F"}
    response = api.post("/api/entries/", body, format="json")
    assert response.status_code == 201, response.content
    (warning,) = response.json()["warnings"]
    assert warning["code"] == "possible_duplicate" and warning["Employeecode"] == "E001"
    assert warning["similarity"] == pytest.approx(similarity, abs=1e-3)
    assert "resembles employee E001" in warning["message"]
    assert api.get("/api/entries/E002/").json()["warnings"] == []  # a warning belongs to the write
    photo = api.post("/api/entries/E002/faces/", {"Image": b64(inside(1).image)}, format="json")
    assert photo.status_code == 201 and photo.json()["warnings"][0]["Employeecode"] == "E001"
    assert api.post("/api/entries/", {**body, "Employeecode": "E003", "Image": b64(below().image)},
                    format="json").json()["warnings"] == []


@pytest.mark.usefixtures("prepared_faces")
def test_the_api_names_whom_a_face_resembles_only_to_those_who_may_view_entries(django_user_model):
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    clerk = django_user_model.objects.create_user("clerk")
    clerk.user_permissions.set(Permission.objects.filter(codename="add_faceentry"))
    client = APIClient()
    client.force_authenticate(clerk)
    body = {"Employeecode": "E002", "Name": "Bob", "Image": b64(inside().image), "consent_reference": "F"}
    (warning,) = client.post("/api/entries/", body, format="json").json()["warnings"]
    assert warning["code"] == "possible_duplicate" and "another employee" in warning["message"]
    assert "Employeecode" not in warning and "similarity" not in warning and "E001" not in warning["message"]


@pytest.mark.usefixtures("prepared_faces")
def test_the_1x_api_keeps_its_answer_and_uses_the_same_two_thresholds(api, settings):
    settings.FACEREC = {"REQUIRE_CONSENT": False}

    def create(code, face):
        return api.post("/create_new_faceEntry", {"EmployeeCode": code, "Name": "X", "gender": "", "Department": "",
                                                  "Images": [b64(face.image)]}, format="json")

    plain = create("E009", factories.face("zoe"))
    flagged = create("E002", inside())
    assert flagged.status_code == plain.status_code == 200 and flagged.json().keys() == plain.json().keys()
    assert PossibleDuplicate.objects.get().entry.employee_code == "E002"
    refused = create("E003", above())
    assert refused.status_code == 409 and refused.json()["code"] == "duplicate_face"


# --- admin ---------------------------------------------------------------------------------------

@pytest.mark.usefixtures("prepared_faces")
def test_the_admin_warns_and_lists_the_pair_for_hr_to_resolve(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"employee_code": "E002", "name": "Bob", "gender": "unspecified", "department": "",
            "photos-TOTAL_FORMS": 0, "photos-INITIAL_FORMS": 0, "consent_reference": "F",
            "photo": SimpleUploadedFile("p.jpg", inside().image)}
    saved = admin_client.post("/admin/entries/faceentry/add/", data, follow=True)
    assert "This face resembles employee E001" in saved.content.decode()  # the message after the redirect
    assert "1 possible duplicate face to check" in admin_client.get("/admin/entries/faceentry/").content.decode()

    listing = admin_client.get("/admin/entries/possibleduplicate/")
    page = listing.content.decode()
    pair = PossibleDuplicate.objects.get()
    assert page.count('src="data:image/jpeg;base64,') == 2  # both faces, side by side
    for entry in (pair.entry, pair.other):
        assert f'href="/admin/entries/faceentry/{entry.pk}/change/"' in page
    assert "<script>" not in page and "<style" not in page and 'style="' not in page.split('id="result_list"')[1]
    assert "possible_duplicates.css" in page
    shown = AuditEvent.objects.filter(action="view_photo").latest("at")
    assert shown.employees == ",E001,E002,"

    resolved = admin_client.post("/admin/entries/possibleduplicate/",
                                 {"action": "different_people", "_selected_action": [pair.pk]}, follow=True)
    assert "1 pair(s) resolved as different people" in resolved.content.decode()
    assert AuditEvent.objects.filter(action="resolve_duplicate").exists()
    assert "0 possible duplicate faces" in admin_client.get("/admin/entries/possibleduplicate/").content.decode()
    assert "E002" in admin_client.get("/admin/entries/possibleduplicate/?status=resolved").content.decode()


def test_deleting_an_employee_in_the_admin_takes_their_pairs_and_a_pair_alone_is_never_deleted(admin_client):
    bob = register(inside())
    pair = PossibleDuplicate.objects.get()
    assert admin_client.post(f"/admin/entries/possibleduplicate/{pair.pk}/delete/", {"post": "yes"}).status_code == 403
    assert "delete_selected" not in admin_client.get("/admin/entries/possibleduplicate/").content.decode()
    assert admin_client.post(f"/admin/entries/faceentry/{bob.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not FaceEntry.objects.filter(pk=bob.pk).exists() and not PossibleDuplicate.objects.exists()


def test_only_those_who_may_view_entries_see_the_pairs(client, django_user_model):
    from django.contrib.auth.models import Permission

    register(inside())
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(codename__in=["view_possibleduplicate",
                                                                       "change_possibleduplicate"]))
    client.force_login(clerk)
    assert client.get("/admin/entries/possibleduplicate/").status_code == 403


# --- import --------------------------------------------------------------------------------------

@pytest.mark.usefixtures("prepared_faces")
def test_an_import_registers_a_possible_duplicate_and_names_it(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    (tmp_path / "E002.jpg").write_bytes(inside().image)
    (tmp_path / "E003.jpg").write_bytes(factories.face_photo("zoe"))
    out = StringIO()
    call_command("import_faces", str(tmp_path), "--workers", "1", "--consent-reference", "F", "--no-progress",
                 stdout=out)
    assert "POSSIBLE DUPLICATE E002: registered, but the face resembles E001's" in out.getvalue()
    assert out.getvalue().count("POSSIBLE DUPLICATE") == 1  # zoe resembles nobody
    assert PossibleDuplicate.objects.get().entry.employee_code == "E002"

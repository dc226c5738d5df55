"""The audit trail: who saw, matched, changed and deleted whose face, through what, from where."""

import base64
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]


def b64(data):
    return base64.b64encode(data).decode()


def test_reads_identifications_changes_and_deletion_are_in_the_admin_with_who_did_them(superuser, admin_client):
    # Given an integrator with a token...
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=superuser).key}")
    body = {"Employeecode": "E001", "Name": "Ann", "Image": b64(factories.face_photo("ann")),
            "consent_reference": "F-1"}
    # ...who registers, reads, identifies, verifies, changes and deletes a test employee
    assert client.post("/api/entries/", body, format="json").status_code == 201
    client.get("/api/entries/E001/?include=embeddings")
    client.post("/api/identify/", {"Image": b64(factories.face_photo("ann", 1))}, format="json")
    client.post("/api/verify/", {"Image": b64(factories.face_photo("ann", 1)), "Employeecode": "E001"}, format="json")
    client.patch("/api/entries/E001/", {"Department": "Sales"}, format="json")
    assert client.delete("/api/entries/E001/").status_code == 204
    # Then each step is one audit event, naming the user, the channel and the employee, never the photo
    events = list(AuditEvent.objects.order_by("id").values_list("action", "actor_name", "via", "employees"))
    assert [e[0] for e in events] == ["create", "view_photo", "view_embeddings", "identify", "verify", "update",
                                      "view_photo", "delete"]  # the PATCH answer shows the photo again
    assert {e[1:] for e in events} == {("admin", "api", ",E001,")}
    update = AuditEvent.objects.get(action="update")
    assert update.details == {"fields": ["department"], "photo_replaced": False}
    assert AuditEvent.objects.get(action="identify").details["decisions"] == ["E001"]
    # And HR admins see it in the admin, filtered by employee, and can export it
    page = admin_client.get("/admin/audit/auditevent/?q=E001").content.decode()
    for text in ("identified a photo", "viewed embeddings", "deleted", "E001"):
        assert text in page
    exported = admin_client.post("/admin/audit/auditevent/", {
        "action": "export_csv", "_selected_action": list(AuditEvent.objects.values_list("pk", flat=True))})
    assert exported["Content-Type"] == "text/csv" and b"view_embeddings" in exported.content


def test_nobody_can_change_or_delete_audit_events_through_the_app(admin_client):
    factories.entry("E001")
    event = AuditEvent.objects.get()
    assert admin_client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get("/admin/audit/auditevent/add/").status_code == 403
    admin_client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"action": "view_photo"})
    assert AuditEvent.objects.get().action == "create"


def test_the_admin_photo_view_and_commands_are_audited(admin_client, tmp_path):
    entry = factories.entry("E001")
    admin_client.get(f"/admin/entries/faceentry/{entry.pk}/photo/")
    call_command("export_faces", str(tmp_path / "out"), stdout=StringIO())
    viewed = AuditEvent.objects.get(action="view_photo")
    exported = AuditEvent.objects.get(action="export")
    assert viewed.via == "admin" and viewed.actor_name == "admin"
    assert exported.via == "command" and "command line" in exported.actor_name


def test_the_audit_log_has_its_own_retention(settings):
    factories.entry("E001")
    AuditEvent.objects.update(at=timezone.now() - timedelta(days=800))
    factories.entry("E002")
    call_command("purge_audit", stdout=StringIO())
    assert list(AuditEvent.objects.values_list("employees", flat=True)) == [",E002,"]


def codes_of(event):
    return sorted(event.codes.values_list("employee_code", flat=True))


@pytest.fixture
def gallery():
    """150 employees with long codes, sharing one photo (copied, not enrolled 150 times)."""
    from entries.models import FaceEntry

    first = factories.entry("EMPLOYEE-00000")
    fields = ["image", "image_mime", "image_sha256", "thumbnail", "embedding", "embedding_model",
              "embedding_sha256", "face_box"]
    FaceEntry.objects.bulk_create([
        FaceEntry(employee_code=f"EMPLOYEE-{n:05d}", name=f"Employee {n}", consent_reference="F",
                  **{f: getattr(first, f) for f in fields}) for n in range(1, 150)])
    AuditEvent.objects.all().delete()
    return [f"EMPLOYEE-{n:05d}" for n in range(150)]


def test_a_read_of_150_employees_names_every_one_and_an_auditor_finds_each(gallery, api, admin_client):
    assert api.get("/Data/").status_code == 200
    event = AuditEvent.objects.get(action="view_photo")
    assert codes_of(event) == gallery  # every one, not the 31 that fit in 2,000 characters
    last = gallery[-1]
    # the admin's search, its employee filter, the event page and the CSV export all name the last one too
    assert f"/admin/audit/auditevent/{event.pk}/change/" in admin_client.get(
        "/admin/audit/auditevent/", {"q": last}).content.decode()
    assert f"/admin/audit/auditevent/{event.pk}/change/" in admin_client.get(
        "/admin/audit/auditevent/", {"employee": last}).content.decode()
    assert "/change/" not in admin_client.get("/admin/audit/auditevent/", {"q": "EMPLOYEE-99999"}).content.decode()
    assert last in admin_client.get(f"/admin/audit/auditevent/{event.pk}/change/").content.decode()
    exported = admin_client.post("/admin/audit/auditevent/", {"action": "export_csv", "_selected_action": [event.pk]})
    assert last in exported.content.decode()


def test_a_full_export_names_every_exported_employee_not_a_star(gallery, tmp_path):
    call_command("export_faces", str(tmp_path / "all.json"), "--format", "json", stdout=StringIO())
    assert codes_of(AuditEvent.objects.get(action="export")) == gallery


def test_dumpdata_of_entries_is_audited_as_an_export_naming_every_employee(gallery, tmp_path):
    call_command("dumpdata", "auth", stdout=StringIO())
    assert not AuditEvent.objects.filter(action="export").exists()
    call_command("dumpdata", "entries", "--output", str(tmp_path / "entries.json"))
    event = AuditEvent.objects.get(action="export")
    assert codes_of(event) == gallery and event.details["format"] == "dumpdata"
    call_command("dumpdata", stdout=StringIO())  # everything, the entries included
    assert AuditEvent.objects.filter(action="export").count() == 2


def test_purging_the_audit_removes_the_employees_of_the_purged_events():
    from audit.models import AuditEmployee

    factories.entry("E001")
    AuditEvent.objects.update(at=timezone.now() - timedelta(days=800))
    factories.entry("E002")
    call_command("purge_audit", stdout=StringIO())
    assert list(AuditEmployee.objects.values_list("employee_code", flat=True)) == ["E002"]


def test_events_recorded_before_the_employee_table_are_found_by_code_after_the_migration():
    import importlib

    from django.apps import apps

    from audit.models import AuditEmployee

    old = AuditEvent.objects.create(actor_name="hr", via="api", action="view_photo", employees=",E001,E002,")
    cut = AuditEvent.objects.create(actor_name="hr", via="api", action="view_photo", employees=",E003,E00")
    AuditEvent.objects.create(actor_name="ops", via="command", action="export", employees=",*,")
    migration = importlib.import_module("audit.migrations.0004_auditemployee")
    migration.copy_employee_codes(apps, None)
    assert codes_of(old) == ["E001", "E002"]
    assert codes_of(cut) == ["E003"]  # the code cut in half at 2,000 characters is not invented
    assert AuditEmployee.objects.count() == 3


def test_audit_details_are_bounded_whatever_a_caller_sends(db):
    import json

    from core.audit import Action, emit
    from entries.models import FaceEntry

    emit(Action.IDENTIFY, sender=FaceEntry, employee_codes=["E001"], department="x" * 12_000_000,
         decisions=["E001"] * 100_000, nested={"deep": ["y" * 100_000] * 100},
         **{f"key{n}": "z" * 400 for n in range(1000)})
    event = AuditEvent.objects.get()
    size = len(json.dumps(event.details))
    assert size <= 8192, size
    assert event.details["department"].startswith("xxx") and event.details["truncated"] is True
    assert event.details["decisions"][:3] == ["E001"] * 3


def test_the_change_list_thumbnails_are_one_audit_event_per_page_naming_those_shown(admin_client, client):
    for code in ("E001", "E002", "E003"):
        factories.entry(code)
    AuditEvent.objects.all().delete()
    admin_client.get("/admin/entries/faceentry/")
    event = AuditEvent.objects.get()
    assert (event.action, event.via, event.details) == ("view_photo", "admin", {"thumbnails": 3})
    assert codes_of(event) == ["E001", "E002", "E003"]
    admin_client.get("/admin/entries/faceentry/", {"q": "E002"})
    assert codes_of(AuditEvent.objects.order_by("id").last()) == ["E002"]


def test_the_change_page_faces_are_audited_and_a_user_shown_none_is_not(admin_client, client):
    from django.contrib.auth.models import Permission, User

    entry = factories.entry("E001", photos=2)
    AuditEvent.objects.all().delete()
    admin_client.get(f"/admin/entries/faceentry/{entry.pk}/change/")
    event = AuditEvent.objects.get()
    assert (event.action, event.details, codes_of(event)) == ("view_photo", {"thumbnails": 1}, ["E001"])
    editor = User.objects.create_user("editor", password="pw", is_staff=True)
    editor.user_permissions.set(Permission.objects.filter(codename="change_faceentry"))
    client.force_login(editor)
    assert client.get(f"/admin/entries/faceentry/{entry.pk}/change/").status_code == 200
    assert client.get("/admin/entries/faceentry/").status_code == 200
    assert AuditEvent.objects.count() == 1  # no face shown, nothing read


LONG = "x" * 10_000


@pytest.mark.parametrize("path, body, field", [
    ("/api/identify/", {"department": LONG}, "department"),
    ("/api/entries/", {"Employeecode": "E9", "Name": "N", "Department": LONG}, "Department"),
    ("/api/entries/", {"Employeecode": "E9", "Name": LONG}, "Name"),
    ("/api/entries/", {"Employeecode": "E9", "Name": "N", "consent_reference": LONG}, "consent_reference"),
    ("/api/verify/", {"Employeecode": LONG}, "Employeecode"),
    ("/create_new_faceEntry", {"EmployeeCode": "E9", "Name": "N", "Department": LONG}, "Department"),
    ("/create_new_faceEntry", {"EmployeeCode": "E9", "Name": LONG}, "Name"),
    ("/create_new_faceEntry", {"EmployeeCode": "E9", "Name": "N", "ConsentReference": LONG}, "ConsentReference"),
])
def test_free_text_past_its_limit_is_refused_and_never_reaches_the_audit(api, path, body, field):
    response = api.post(path, body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert field in response.json()["details"]
    assert not AuditEvent.objects.exists()


def test_the_timesheet_department_and_the_admin_identify_department_are_bounded(api, admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api.get("/api/attendance/timesheet/", {"department": LONG})
    assert response.status_code == 400 and "department" in response.json()["details"]
    page = admin_client.post("/admin/entries/faceentry/identify/", {
        "photo": SimpleUploadedFile("p.jpg", factories.face_photo("ann")), "department": LONG}).content.decode()
    assert "Select a valid choice" in page  # the admin's department is one that exists
    assert not AuditEvent.objects.exists()

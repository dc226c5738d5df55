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
from tests.factories import register

pytestmark = [pytest.mark.django_db, pytest.mark.faces]


def b64(data):
    return base64.b64encode(data).decode()


def test_reads_identifications_changes_and_deletion_are_in_the_admin_with_who_did_them(
        superuser, admin_client, photo):
    # Given an integrator with a token...
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=superuser).key}")
    body = {"Employeecode": "E001", "Name": "Ann", "Image": b64(photo("img1.jpg")), "consent_reference": "F-1"}
    # ...who registers, reads, identifies, verifies, changes and deletes a test employee
    assert client.post("/api/entries/", body, format="json").status_code == 201
    client.get("/api/entries/E001/?include=embeddings")
    client.post("/api/identify/", {"Image": b64(photo("img2.jpg"))}, format="json")
    client.post("/api/verify/", {"Image": b64(photo("img2.jpg")), "Employeecode": "E001"}, format="json")
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


def test_nobody_can_change_or_delete_audit_events_through_the_app(admin_client, photo):
    register(photo, code="E001", image="img1.jpg")
    event = AuditEvent.objects.get()
    assert admin_client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get("/admin/audit/auditevent/add/").status_code == 403
    admin_client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"action": "view_photo"})
    assert AuditEvent.objects.get().action == "create"


def test_the_admin_photo_view_and_commands_are_audited(admin_client, photo, tmp_path):
    entry = register(photo, code="E001", image="img1.jpg")
    admin_client.get(f"/admin/entries/faceentry/{entry.pk}/photo/")
    call_command("export_faces", str(tmp_path / "out"), stdout=StringIO())
    viewed = AuditEvent.objects.get(action="view_photo")
    exported = AuditEvent.objects.get(action="export")
    assert viewed.via == "admin" and viewed.actor_name == "admin"
    assert exported.via == "command" and "command line" in exported.actor_name


def test_the_audit_log_has_its_own_retention(photo, settings):
    register(photo, code="E001", image="img1.jpg")
    AuditEvent.objects.update(at=timezone.now() - timedelta(days=800))
    register(photo, code="E002", image="img3.jpg")
    call_command("purge_audit", stdout=StringIO())
    assert list(AuditEvent.objects.values_list("employees", flat=True)) == [",E002,"]

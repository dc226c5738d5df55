"""Consent to biometric processing is recorded, required by default, and faces are kept only as long as allowed."""

import base64
import json
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from entries import services
from entries.exceptions import ConsentRequired
from entries.gallery import pgvector
from entries.models import FaceEntry
from tests import factories
from tests.factories import face_photo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]


def test_registration_without_consent_is_refused_by_default(api):
    with pytest.raises(ConsentRequired):
        services.entry_register(employee_code="E1", name="Ann", image=face_photo("ann"))
    body = {"Employeecode": "E1", "Name": "Ann", "Image": base64.b64encode(face_photo("ann")).decode()}
    response = api.post("/api/entries/", body, format="json")
    assert response.status_code == 422 and response.json()["code"] == "consent_required"
    assert not FaceEntry.objects.exists()


def test_consent_is_recorded_with_when_and_by_whom(api, superuser):
    body = {"Employeecode": "E1", "Name": "Ann", "Image": base64.b64encode(face_photo("ann")).decode(),
            "consent_reference": "HR-2026-114", "employment_end": "2027-03-31"}
    data = api.post("/api/entries/", body, format="json").json()
    entry = FaceEntry.objects.get()
    assert entry.consent_reference == "HR-2026-114" and entry.consent_at is not None
    assert entry.consent_recorded_by == superuser
    assert data["retain_until"] == "2027-04-30"  # employment end + 30 days (FACEREC_RETENTION_DAYS)


def test_the_setting_can_turn_the_requirement_off(settings):
    settings.FACEREC = {"REQUIRE_CONSENT": False}
    assert services.entry_register(employee_code="E1", name="Ann", image=face_photo("ann")).consent_at is None


def test_the_admin_add_form_asks_for_consent(admin_client):
    from entries.tests.test_admin import CHANGELIST, form

    page = admin_client.post(f"{CHANGELIST}add/", form(face_photo("ann"), consent_reference="")).content.decode()
    assert "Record the employee&#x27;s consent" in page and not FaceEntry.objects.exists()


def test_import_refuses_new_employees_without_consent_before_analysing_anything(tmp_path):
    (tmp_path / "E1.jpg").write_bytes(face_photo("ann"))
    with pytest.raises(CommandError, match="no recorded consent"):
        call_command("import_faces", str(tmp_path), "--no-progress", stdout=StringIO())
    assert not FaceEntry.objects.exists()


def test_purge_expired_deletes_what_is_kept_too_long_with_its_vectors():
    keep = factories.entry("E1", retain_until=date.today())
    gone = factories.entry("E2", employment_end=date.today() - timedelta(days=31))
    assert gone.retain_until == date.today() - timedelta(days=1)
    out = StringIO()
    call_command("purge_expired", "--dry-run", stdout=out)
    assert "E2" in out.getvalue() and FaceEntry.objects.count() == 2
    call_command("purge_expired", stdout=out)
    assert list(FaceEntry.objects.values_list("employee_code", flat=True)) == [keep.employee_code]
    if pgvector.available(connection):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {pgvector.TABLE} WHERE entry_id = %s", [gone.pk])
            assert cursor.fetchone()[0] == 0


def test_everything_held_about_one_employee_can_be_exported(tmp_path):
    factories.entry("E1", consent_reference="HR-1")
    factories.entry("E2")
    call_command("export_faces", str(tmp_path / "e1.json"), "--format", "json", "--employee", "E1", stdout=StringIO())
    [record] = json.loads((tmp_path / "e1.json").read_text())
    assert record["Employeecode"] == "E1" and record["consent_reference"] == "HR-1" and record["embeddings"]
    with pytest.raises(CommandError, match="NOPE"):
        call_command("export_faces", str(tmp_path / "x.json"), "--format", "json", "--employee", "NOPE")

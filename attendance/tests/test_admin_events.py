"""HR adds attendance events by hand in the admin: a code nobody is enrolled under is a form error, never a 500."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from attendance import services
from attendance.admin import AttendanceEventAdmin
from attendance.models import AttendanceEvent
from entries import services as entry_services
from entries.models import FaceEntry
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]
ADD = "/admin/attendance/attendanceevent/add/"


def event_form(**fields):
    at = timezone.localtime() - timedelta(hours=2)
    return {"employee_code": "X999", "employee_name": "", "department": "", "at_0": f"{at:%Y-%m-%d}",
            "at_1": f"{at:%H:%M:%S}", "direction": "in", "correction_reason": "forgot to clock in", **fields}


def test_a_code_not_enrolled_without_a_name_is_the_services_own_form_error(admin_client):
    response = admin_client.post(ADD, event_form())
    assert response.status_code == 200
    with pytest.raises(services.UnknownEmployee) as refused:
        services.event_add(employee_code="X999", at=timezone.now(), direction="in", reason="x", by=None)
    assert escape(refused.value.message) in response.content.decode()
    assert not AttendanceEvent.objects.exists()


def test_an_employee_deleted_while_the_form_is_saved_is_recorded_under_the_name_the_form_found(
        admin_client, monkeypatch):
    factories.entry("E001", name="Ann Lee", department="HR")
    save_form = AttendanceEventAdmin.save_form

    def deleted_meanwhile(self, request, form, change):
        entry_services.entry_delete(entry=FaceEntry.objects.get(employee_code="E001"))
        return save_form(self, request, form, change)

    monkeypatch.setattr(AttendanceEventAdmin, "save_form", deleted_meanwhile)
    response = admin_client.post(ADD, event_form(employee_code="E001"))
    assert response.status_code == 302
    assert AttendanceEvent.objects.values_list("employee_code", "employee_name", "department").get() == (
        "E001", "Ann Lee", "HR")


def test_a_code_not_enrolled_with_a_name_is_recorded(admin_client):
    assert admin_client.post(ADD, event_form(employee_name="Xavier Nine")).status_code == 302
    assert AttendanceEvent.objects.values_list("employee_name", flat=True).get() == "Xavier Nine"

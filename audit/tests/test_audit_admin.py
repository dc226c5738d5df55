"""The audit list as HR reads it: each row says what was done to whom, in words, with the raw record one click away."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from attendance import services as attendance_services
from attendance.models import AttendanceEvent
from audit.models import AuditEvent
from core.audit import Action, emit
from entries import services as entry_services
from tests import factories
from tests.pages import form_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]
LIST = "/admin/audit/auditevent/"


def recorded_since(first_id):
    """The audited changes after first_id (views of faces aside: showing a page is audited too)."""
    return list(AuditEvent.objects.filter(id__gt=first_id).exclude(action="view_photo").order_by("id")
                .values_list("action", "details"))


def row_of(page, event):
    """The list's row of one event, its cells' text."""
    row = next(row for row in re.findall(r"<tr\b[^>]*>(.*?)</tr>", page, re.S)
               if f'name="_selected_action" value="{event.pk}"' in row)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]


def test_adding_a_photo_on_an_employees_page_is_audited_as_that_alone(admin_client):
    entry = factories.entry("E001")
    url = f"/admin/entries/faceentry/{entry.pk}/change/"
    page = form_data(admin_client.get(url), "faceentry_form")
    last = AuditEvent.objects.latest("id").id
    photo = SimpleUploadedFile("more.jpg", factories.face_photo("E001", 1), content_type="image/jpeg")
    assert admin_client.post(url, {**page, "photos-0-photo": photo}).status_code == 302
    assert [action for action, _ in recorded_since(last)] == ["add_photo"]


def test_changing_a_department_on_the_page_names_that_field_only(admin_client):
    entry = factories.entry("E001")
    url = f"/admin/entries/faceentry/{entry.pk}/change/"
    page = form_data(admin_client.get(url), "faceentry_form")
    last = AuditEvent.objects.latest("id").id
    admin_client.post(url, {**page, "department": "Sales"})
    assert recorded_since(last) == [("update", {"fields": ["department"], "photo_replaced": False})]


def test_attendance_events_hr_adds_or_corrects_are_labelled_so_not_as_clockings(admin_client):
    at = timezone.now() - timedelta(hours=3)
    added = attendance_services.event_add(employee_code="E404", employee_name="Ann Lee", at=at, direction="in",
                                          reason="forgot to clock in", by=None)
    attendance_services.event_correct(event=added, at=at + timedelta(minutes=5), direction="in", reason="typo",
                                      by=None)
    emit(Action.CLOCK, sender=AttendanceEvent, employee_codes=["E405"], direction="in", frames=2)  # a kiosk's
    page = admin_client.get(LIST).content.decode()
    clock, corrected, manual = AuditEvent.objects.order_by("-id")[:3]
    assert "added an attendance event by hand" in row_of(page, manual)
    assert "corrected an attendance event" in row_of(page, corrected)
    assert "clocked in or out" in row_of(page, clock)
    detail = admin_client.get(f"{LIST}{manual.pk}/change/").content.decode()
    assert "added an attendance event by hand" in detail


def test_employees_are_shown_as_plain_codes(admin_client):
    emit(Action.IDENTIFY, sender=AttendanceEvent, employee_codes=["E002", "E001"])
    event = AuditEvent.objects.get()
    page = admin_client.get(LIST).content.decode()
    assert "E001, E002" in row_of(page, event)
    detail = admin_client.get(f"{LIST}{event.pk}/change/").content.decode()
    for shown in (page, detail):
        assert ",E001," not in shown
    assert re.search(r">E001</a>, <a [^>]*>E002</a>", detail)


def test_details_read_as_a_list_with_the_raw_record_only_in_a_technical_disclosure(admin_client):
    entry = factories.entry("E001", employment_end=timezone.localdate())
    entry_services.entry_update(entry=entry, department="Sales", employment_end=None)
    event = AuditEvent.objects.get(action="update")
    detail = admin_client.get(f"{LIST}{event.pk}/change/").content.decode()
    readable = re.search(r'<ul class="audit-details">(.*?)</ul>', detail, re.S).group(1)
    items = [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", readable, re.S)]
    assert items == ["Fields: department, employment end, retain until", "Photo replaced: no"]
    disclosure = re.search(r"<details>\s*<summary>Technical details</summary>(.*?)</details>", detail, re.S)
    assert disclosure and "&quot;photo_replaced&quot;: false" in disclosure.group(1)
    assert "&quot;photo_replaced" not in detail.replace(disclosure.group(0), "")
    assert "<script>" not in detail  # the strict CSP runs no inline script: a <details> opens without one
    row = row_of(admin_client.get(LIST).content.decode(), event)
    assert "Fields: department, employment end, retain until; Photo replaced: no" in row

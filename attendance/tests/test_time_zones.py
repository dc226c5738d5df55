"""Each kiosk's time zone: its greeting and clock, and the days and times of timesheets. Storage stays UTC."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import Permission, User
from openpyxl import load_workbook
from rest_framework.test import APIClient

from attendance import api, services
from attendance.models import AttendanceEvent, Kiosk

pytestmark = [pytest.mark.django_db(transaction=True)]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def kiosk(name: str, zone: str = "") -> Kiosk:
    door = services.kiosk_register(name=name, liveness="off")[0]
    Kiosk.objects.filter(pk=door.pk).update(time_zone=zone)
    door.time_zone = zone
    return door


def event(at: str, direction: str, door: Kiosk | None = None, code: str = "E001") -> AttendanceEvent:
    return AttendanceEvent.objects.create(employee_code=code, employee_name="Ann Lee", department="Sales",
                                          at=utc(at), direction=direction, kiosk=door,
                                          kiosk_name=door.name if door else "")


def greeting(at: str, door: Kiosk, direction: str = "in") -> str:
    clocked = AttendanceEvent(employee_name="Ann Lee", at=utc(at), direction=direction, kiosk=door)
    return api.message(services.Clocking("clocked", clocked))


def hr_client() -> APIClient:
    hr = User.objects.create_user("hr", password="pw", is_staff=True)
    hr.user_permissions.set(Permission.objects.filter(content_type__app_label="attendance"))
    client = APIClient()
    client.force_authenticate(hr)
    return client


def test_the_kiosk_greets_in_its_own_time_zone(settings):
    settings.TIME_ZONE = "Europe/Paris"
    assert greeting("2026-11-23T07:30", kiosk("Tokyo", "Asia/Tokyo")) == "Good afternoon, Ann Lee — in at 16:30"
    assert greeting("2026-11-23T07:30", kiosk("New York", "America/New_York")) == \
        "Good morning, Ann Lee — in at 02:30"
    assert greeting("2026-11-23T07:30", kiosk("Paris")) == "Good morning, Ann Lee — in at 08:30"  # TIME_ZONE
    assert greeting("2026-11-23T22:15", kiosk("Sydney", "Australia/Sydney"), "out") == \
        "Goodbye, Ann Lee — out at 09:15"


def test_a_kiosk_reads_its_time_zone_for_its_clock(settings):
    settings.TIME_ZONE = "Europe/Paris"
    for zone, expected in [("Asia/Kolkata", "Asia/Kolkata"), ("", "Europe/Paris")]:
        door, key = services.kiosk_register(name=f"Door {expected}", liveness="off")
        Kiosk.objects.filter(pk=door.pk).update(time_zone=zone)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Kiosk {key}")
        assert client.get("/api/attendance/kiosk/").json()["time_zone"] == expected


def test_a_timesheet_day_is_the_local_date_at_the_kiosk_around_midnight(settings):
    settings.TIME_ZONE = "UTC"
    tokyo, new_york = kiosk("Tokyo", "Asia/Tokyo"), kiosk("New York", "America/New_York")
    event("2026-11-23T15:30", "in", tokyo)  # Tokyo: the 24th, 00:30
    event("2026-11-23T23:30", "out", tokyo)  # ...08:30
    event("2026-11-24T03:00", "in", new_york, code="E002")  # New York: the 23rd, 22:00
    event("2026-11-24T06:00", "out", new_york, code="E002")  # ...the 24th, 01:00: the night shift's day is the 23rd
    event("2026-11-23T23:50", "in", None, code="E003")  # HR's, no kiosk: TIME_ZONE (UTC), the 23rd
    event("2026-11-24T00:20", "out", None, code="E003")

    def sheet(day):
        return [(d.employee_code, d.hours, d.time_zone, f"{d.first_in:%H:%M}", f"{d.last_out:%H:%M}")
                for d in services.timesheet(day, day, now=utc("2026-11-30T00:00"))]

    assert sheet(date(2026, 11, 23)) == [("E002", 3.0, "America/New_York", "22:00", "01:00"),
                                         ("E003", 0.5, "UTC", "23:50", "00:20")]
    assert sheet(date(2026, 11, 24)) == [("E001", 8.0, "Asia/Tokyo", "00:30", "08:30")]
    week = services.timesheet(date(2026, 11, 23), date(2026, 11, 29), now=utc("2026-11-30T00:00"))
    assert services.arrivals_by_hour(week)[0] == 1 and services.arrivals_by_hour(week)[22:24] == [1, 1]
    assert AttendanceEvent.objects.get(employee_code="E001", direction="in").at == utc("2026-11-23T15:30")  # UTC


def test_the_timesheet_csv_and_xlsx_and_the_events_api_show_the_kiosks_local_times(settings, client):
    settings.TIME_ZONE = "UTC"
    tokyo = kiosk("Tokyo", "Asia/Tokyo")
    event("2026-11-23T15:30", "in", tokyo)
    event("2026-11-23T23:30", "out", tokyo)
    api_client = hr_client()
    rows = list(csv.DictReader(io.StringIO(api_client.get(
        "/api/attendance/timesheet/?from=2026-11-24&to=2026-11-24&format=csv").content.decode())))
    assert [(r["date"], r["time_zone"], r["first_in"], r["last_out"]) for r in rows] == [
        ("2026-11-24", "Asia/Tokyo", "2026-11-24T00:30:00+09:00", "2026-11-24T08:30:00+09:00")]
    events = api_client.get("/api/attendance/events/?direction=in").json()["results"]
    assert [(e["time"], e["local_time"], e["time_zone"]) for e in events] == [
        ("2026-11-23T15:30:00Z", "2026-11-24T00:30:00+09:00", "Asia/Tokyo")]

    client.force_login(User.objects.get(username="hr"))
    book = load_workbook(io.BytesIO(client.get(
        "/admin/attendance/attendanceevent/timesheet/?day=2026-11-24&span=day&download=xlsx").content))
    header, row = list(book.active.iter_rows(values_only=True))[:2]
    values = dict(zip(header, row, strict=True))
    assert (values["first in"], values["last out"], values["time zone"]) == (
        datetime(2026, 11, 24, 0, 30), datetime(2026, 11, 24, 8, 30), "Asia/Tokyo")
    page = client.get("/admin/attendance/attendanceevent/timesheet/?day=2026-11-24&span=day").content.decode()
    assert "<td>00:30</td><td>08:30</td>" in page.replace("\n", "").replace(" ", "") and "Asia/Tokyo" in page

"""HR's timesheet: each employee's totals for the period, the period before and after, hours as h:mm."""

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from attendance import services
from attendance.tests import test_attendance
from attendance.tests.test_attendance import at, hr_user
from tests import factories

pytestmark = [pytest.mark.django_db]
TIMESHEET = "/admin/attendance/attendanceevent/timesheet/"
week = test_attendance.week  # the fixture: Ann and Bob's week of 23 November 2026


def test_hours_read_as_hours_and_minutes():
    assert [services.hours_minutes(m) for m in (0, 5, 451, 2465)] == ["0:00", "0:05", "7:31", "41:05"]


def test_each_employees_totals_add_up_their_days_as_shown(week):
    # Ann: 08:59–12:00 and 13:00–17:30 on Monday (7:31); Bob: no check-out Monday, 09:05–18:05 Tuesday
    days = services.timesheet(date(2026, 11, 23), date(2026, 11, 29))
    assert [(d.employee_code, d.hours_minutes) for d in days] == [("E001", "7:31"), ("E002", "0:00"),
                                                                   ("E002", "9:00")]
    totals = services.totals(days)
    assert [(t.employee_code, t.employee_name, t.department, t.days, t.hours_minutes, t.missing_checkouts)
            for t in totals] == [("E001", "Ann Lee", "Sales", 1, "7:31", 0), ("E002", "Bob Roy", "IT", 2, "9:00", 1)]


def test_a_total_is_the_sum_of_the_minutes_shown_not_of_the_seconds_worked():
    hr = hr_user()
    for day in ("2026-11-23", "2026-11-24"):  # 1 h 0 min 40 s each: shown 1:01 each, so 2:02 in all (not 2:01)
        for direction, clock in (("in", "09:00:00"), ("out", "10:00:40")):
            services.event_add(employee_code="E001", employee_name="Ann Lee", at=at(day, clock), direction=direction,
                               reason="test data", by=hr)
    days = services.timesheet(date(2026, 11, 23), date(2026, 11, 29))
    assert [d.hours_minutes for d in days] == ["1:01", "1:01"]
    assert services.totals(days)[0].hours_minutes == "2:02"


@pytest.mark.parametrize(("day", "span", "previous", "following"), [
    (date(2026, 11, 25), "day", date(2026, 11, 24), date(2026, 11, 26)),
    (date(2026, 11, 25), "week", date(2026, 11, 16), date(2026, 11, 30)),
    (date(2026, 3, 31), "month", date(2026, 2, 1), date(2026, 4, 1)),
    (date(2026, 1, 15), "month", date(2025, 12, 1), date(2026, 2, 1)),
])
def test_the_period_before_and_after(day, span, previous, following):
    start, end = services.period(day, span)
    assert services.adjacent_periods(start, end, span) == (previous, following)
    assert services.period(previous, span)[1] == start - timedelta(days=1)
    assert services.period(following, span)[0] == end + timedelta(days=1)


def test_the_timesheet_page_shows_totals_h_mm_and_links_to_the_weeks_before_and_after(week, client, prepared_faces):
    factories.entry("E002", "bob", name="Bob Roy", department="IT")  # the department filter lists enrolled ones
    client.force_login(week)
    html = client.get(f"{TIMESHEET}?day=2026-11-25&span=week&department=IT").content.decode()
    assert 'href="?day=2026-11-16&amp;span=week&amp;department=IT" rel="prev"' in html
    assert 'href="?day=2026-11-30&amp;span=week&amp;department=IT" rel="next"' in html
    totals = html.split('id="timesheet-totals"')[1].split("</table>")[0].replace("\n", "").replace(" ", "")
    assert "<td>E002</td><td>BobRoy</td><td>IT</td><td>2</td><td>9:00</td>" in totals and "E001" not in totals
    html = client.get(f"{TIMESHEET}?day=2026-11-23&span=week").content.decode()
    days = html.split('id="timesheet"')[1].split("</table>")[0]
    assert "<td>7:31</td>" in days and "7.52" not in days and "<th>16:31</th>" in html  # 7:31 + 9:00


def test_the_downloads_give_hours_as_h_mm_and_the_totals(week, client):
    client.force_login(week)
    rows = list(csv.DictReader(io.StringIO(client.get(
        f"{TIMESHEET}?day=2026-11-23&span=week&download=csv").content.decode())))
    assert [(r["Employeecode"], r["hours"], r["hours_hmm"]) for r in rows] == [
        ("E001", "7.52", "7:31"), ("E002", "0.0", "0:00"), ("E002", "9.0", "9:00")]
    answer = client.get(f"{TIMESHEET}?day=2026-11-23&span=week&download=totals-csv")
    assert answer["Content-Disposition"] == 'attachment; filename="timesheet-totals-2026-11-23-2026-11-29.csv"'
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    assert [(r["Employeecode"], r["days"], r["hours"], r["hours_hmm"], r["missing_checkouts"]) for r in rows] == [
        ("E001", "1", "7.52", "7:31", "0"), ("E002", "2", "9.0", "9:00", "1")]

    book = load_workbook(io.BytesIO(client.get(f"{TIMESHEET}?day=2026-11-23&span=week&download=xlsx").content))
    days, totals = book["Timesheet"], book["Totals"]
    assert days["G1"].value == "hours" and days["G2"].value == timedelta(hours=7, minutes=31)
    assert days["G2"].number_format == "[h]:mm"  # shown 7:31, and 40:00 is forty hours, not a clock time
    assert [[c.value for c in row] for row in totals.iter_rows()] == [
        ["Employeecode", "Name", "Department", "days", "hours", "missing check-outs"],
        ["E001", "Ann Lee", "Sales", 1, timedelta(hours=7, minutes=31), 0],
        ["E002", "Bob Roy", "IT", 2, timedelta(hours=9), 1]]
    assert totals["E2"].number_format == "[h]:mm"


def test_the_api_timesheet_carries_hours_as_h_mm_beside_the_number(week):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(week)
    rows = api.get("/api/attendance/timesheet/?from=2026-11-23&to=2026-11-23").json()
    assert [(r["hours"], r["hours_hmm"]) for r in rows] == [(7.52, "7:31"), (0.0, "0:00")]

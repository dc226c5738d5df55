"""The employee list HR downloads (CSV or XLSX): who is enrolled, their consent and retention; never a photo or
an embedding. Reading it out is audited as an export, naming everyone in it."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime

from django.db.models import Count, QuerySet
from django.utils import timezone

from core.audit import Action, emit
from core.spreadsheets import csv_writer, xlsx_append

from .models import FaceEntry

# (heading, attribute, XLSX column width)
COLUMNS = [
    ("Employee code", "employee_code", 16), ("Name", "name", 28), ("Gender", "gender", 12),
    ("Department", "department", 20), ("Photos", "photo_count", 8), ("Consent reference", "consent_reference", 24),
    ("Consent recorded", "consent_at", 20), ("Consent recorded by", "consent_recorded_by", 20),
    ("Employment end", "employment_end", 16), ("Retain until", "retain_until", 16),
    ("Registered", "created_at", 20), ("Changed", "updated_at", 20),
]
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _value(entry: FaceEntry, attribute: str):
    if attribute == "photo_count":
        return 1 + entry.photo_total  # type: ignore[attr-defined]  # annotated by employee_rows
    value = getattr(entry, attribute)
    if attribute == "consent_recorded_by":
        return value.get_username() if value else ""
    if hasattr(value, "tzinfo") and value.tzinfo is not None:  # a spreadsheet has no zones: local time
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0)
    return "" if value is None else value


def employee_rows(entries: QuerySet[FaceEntry]) -> Iterable[list]:
    """The list's rows, in employee-code order, read without photos or embeddings."""
    entries = (entries.defer("image", "embedding", "thumbnail").select_related("consent_recorded_by")
               .annotate(photo_total=Count("photos")).order_by("employee_code"))
    for entry in entries:
        yield [_value(entry, attribute) for _, attribute, _ in COLUMNS]


def employees_export(entries: QuerySet[FaceEntry], *, format: str) -> bytes:
    """The employee list as a CSV (UTF-8 with a BOM, which Excel needs to read accents) or an XLSX file."""
    rows = list(employee_rows(entries))
    headings = [heading for heading, _, _ in COLUMNS]
    if format == "csv":
        text = io.StringIO()
        writer = csv_writer(text)
        writer.writerow(headings)
        writer.writerows([_text(value) for value in row] for row in rows)
        data = ("\ufeff" + text.getvalue()).encode()
    else:
        data = _xlsx(headings, rows)
    emit(Action.EXPORT, sender=FaceEntry, employee_codes=[row[0] for row in rows], format=format,
         entries=len(rows), fields=[attribute for _, attribute, _ in COLUMNS])
    return data


def _text(value):
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    return value.isoformat() if isinstance(value, date) else value


def _xlsx(headings: list[str], rows: list[list]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "Employees"
    xlsx_append(sheet, headings)
    for row in rows:
        xlsx_append(sheet, row)
    for number, (_, attribute, width) in enumerate(COLUMNS, start=1):
        column = get_column_letter(number)
        sheet.column_dimensions[column].width = width
        if attribute.endswith("_at"):
            for cell in sheet[column][1:]:
                cell.number_format = "yyyy-mm-dd hh:mm"
        elif attribute in ("employment_end", "retain_until"):
            for cell in sheet[column][1:]:
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

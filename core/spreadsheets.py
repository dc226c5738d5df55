"""Cells for the CSV and XLSX files HR opens in a spreadsheet: text never runs as a formula.

OWASP's advice for CSV injection: a text cell beginning with = + - @, a tab or a carriage return gets a
leading single quote, so Excel, LibreOffice and Sheets show it as text. A value that already begins with a
quote gets one more, so `unescape` gives back exactly what was written (export_faces' manifest is re-imported).
Numbers, dates and None are left alone: a negative number stays a number.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def cell(value):
    """The value as a spreadsheet cell should hold it: formula-like (or quoted) text behind a single quote."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, QUOTE)):
        return QUOTE + value
    return value


def unescape(text: str) -> str:
    """What `cell` was given, from a cell it wrote (for files FaceRec reads back)."""
    return text[1:] if text.startswith(QUOTE) and text[1:].startswith((*FORMULA_STARTS, QUOTE)) else text


class _Writer:
    def __init__(self, writer):
        self._writer = writer

    def writerow(self, row):
        return self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_writer(file, **options) -> _Writer:
    """csv.writer whose every cell goes through `cell`: the one way FaceRec writes CSV."""
    return _Writer(csv.writer(file, **options))


def xlsx_append(sheet, row) -> None:
    """Append a row to an openpyxl sheet with every text as a plain string, never a formula."""
    sheet.append(list(row))
    for item in sheet[sheet.max_row]:
        if isinstance(item.value, str):
            item.data_type = "s"  # openpyxl would store text beginning with "=" as a formula


def _shown(value) -> int:
    """About how many characters a spreadsheet shows for a value (its longest line, a date as 2026-12-02)."""
    if isinstance(value, datetime):
        return 19
    if isinstance(value, date):
        return 10
    if isinstance(value, timedelta):  # a duration shown as h:mm
        return len(f"{int(value.total_seconds()) // 3600}:00")
    return max((len(line) for line in str(value).splitlines()), default=0)


def xlsx_fit_columns(sheet, *, widest: int = 60) -> None:
    """Widen each column to its longest value (up to `widest` characters): unwidened, dates show as ####."""
    for column in sheet.iter_cols():
        longest = max((_shown(item.value) for item in column if item.value is not None), default=0)
        sheet.column_dimensions[column[0].column_letter].width = min(longest, widest) + 2

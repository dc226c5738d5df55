"""In a real browser: an HR staff member's day in the admin (not a superuser; the role `setup_roles` makes).

Enrol an employee with two photos, set an employment end and see *Retain until* follow, export the list, then
identify a photo of the employee and a stranger's. It saves the identify page the docs show
(docs/screenshots/identify.png). The dashboard, the ZIP import, picking a face and the timesheet have their own
files (tests/test_browser_dashboard.py, _import, _upload, _timesheet).
"""

import csv
import io
from pathlib import Path

import pytest

from entries.models import FaceEntry
from hr.tests.helpers import user_in
from tests.test_browser import browser_for  # noqa: F401  (the fixture)

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "identify.png"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faces, pytest.mark.browser]


def test_hr_staff_enrol_set_an_employment_end_export_and_identify(browser_for, live_server, faces_dir,  # noqa: F811
                                                                  settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain HTTP on loopback
    user_in("HR staff", "pat")
    page = browser_for(None)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "pat")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.locator("#dashboard").wait_for()

    # Enrol Ann with a photo and a second one in "more photos".
    page.goto(f"{live_server.url}/admin/entries/faceentry/add/")
    page.fill("#id_employee_code", "E001")
    page.fill("#id_name", "Ann Lee")
    page.fill("#id_department", "Sales")
    page.fill("#id_consent_reference", "form 12")
    page.set_input_files("#id_photo", str(faces_dir / "img1.jpg"))
    page.set_input_files("input[type=file][name$='-0-photo']", str(faces_dir / "img2.jpg"))
    page.click("input[name=_save]")
    page.locator(".messagelist .success").wait_for()
    entry = FaceEntry.objects.get()
    assert (entry.employee_code, entry.photos.count(), entry.retain_until) == ("E001", 1, None)

    # She leaves at the end of the year: her retention follows without HR typing it.
    page.goto(f"{live_server.url}/admin/entries/faceentry/{entry.pk}/change/")
    page.fill("#id_employment_end", "2026-12-31")
    page.click("input[name=_continue]")
    page.locator(".messagelist .success").wait_for()
    assert page.input_value("#id_retain_until")  # filled: the end plus FACEREC_RETENTION_DAYS
    entry.refresh_from_db()
    assert entry.retain_until is not None and entry.retain_until > entry.employment_end

    # The list, exported with its consent and retention columns and no face data.
    page.goto(f"{live_server.url}/admin/entries/faceentry/")
    with page.expect_download() as download:
        page.click("text=Export CSV")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert [(row["Employee code"], row["Photos"], row["Consent reference"], row["Retain until"] != "")
            for row in rows] == [("E001", "2", "form 12", True)]
    assert not any("embedding" in column.lower() for column in rows[0])

    # Identify: another photo of Ann, then a stranger (person04, never enrolled).
    page.click("text=Identify a photo")
    page.set_input_files("#id_photo", str(faces_dir / "img4.jpg"))
    page.click("input[type=submit]")
    decision = page.locator("#content table").last.inner_text()
    assert "E001 Ann Lee" in decision and "% sure this is Ann Lee" in decision
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.set_input_files("#id_photo", str(faces_dir / "img13.jpg"))
    page.click("input[type=submit]")
    decision = page.locator("#content table").last.inner_text()
    assert "No employee matches this face." in decision and "Ann Lee" not in decision

"""In a real browser, HR's attendance pages: the timesheet with its totals, and pairing a kiosk from its QR code.

The fixtures (Chromium through Playwright, a screenshot on failure) are tests/test_browser.py's.
"""

from datetime import date

import pytest
from django.contrib.auth.models import Permission, User

from attendance import services
from attendance.models import Kiosk
from attendance.tests.test_attendance import at
from tests.test_browser import browser_for  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def hr(settings):
    """An HR staff member (not a superuser) who manages attendance and kiosks."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain HTTP on loopback
    user = User.objects.create_user("hr", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="attendance"))
    return user


def log_in(page, live_server):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "hr")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.locator("#user-tools").wait_for()


def test_hr_opens_the_weeks_timesheet_reads_each_employees_total_and_steps_to_the_week_before(
        browser_for, live_server, hr):  # noqa: F811
    for code, name, direction, when in [
        ("E001", "Ann Lee", "in", at("2026-11-23", "08:59")), ("E001", "Ann Lee", "out", at("2026-11-23", "12:00")),
        ("E001", "Ann Lee", "in", at("2026-11-23", "13:00")), ("E001", "Ann Lee", "out", at("2026-11-23", "17:30")),
        ("E001", "Ann Lee", "in", at("2026-11-24", "09:00")), ("E001", "Ann Lee", "out", at("2026-11-24", "17:15")),
        ("E002", "Bob Roy", "in", at("2026-11-24", "10:15")),
    ]:
        services.event_add(employee_code=code, employee_name=name, at=when, direction=direction, reason="test",
                           by=hr)
    page = browser_for(None)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/attendance/attendanceevent/")
    page.click("text=Timesheet")
    page.fill("#id_day", "2026-11-25")
    page.select_option("#id_span", "week")
    page.click("#timesheet-form input[type=submit]")
    totals = page.locator("#timesheet-totals")
    rows = [[cell.strip() for cell in row.split("\t")] for row in totals.locator("tbody tr").all_inner_texts()]
    assert rows == [["E001", "Ann Lee", "", "2", "15:46", "0"], ["E002", "Bob Roy", "", "1", "0:00", "1"]]
    assert "15:46" in totals.locator("tfoot").inner_text()  # 7:31 + 8:15, and Bob's day without a check-out
    assert "8:15" in page.locator("#timesheet").inner_text()
    page.click("text=‹ previous week")
    page.locator("#period-nav").filter(has_text="Nov. 16, 2026").wait_for()
    assert "No attendance in this period." in totals.inner_text()
    page.click("text=next week ›")
    page.locator("#timesheet-totals").filter(has_text="15:46").wait_for()
    assert services.period(date(2026, 11, 25), "week")[0].isoformat() in page.url


def test_hr_adds_a_kiosk_and_the_tablet_pairs_by_scanning_its_qr_code(browser_for, live_server, hr):  # noqa: F811
    import cv2
    import numpy as np

    page = browser_for(None)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/attendance/kiosk/add/")
    page.fill("#id_name", "Lobby")
    page.click("input[name=_save]")
    qr = page.locator("img.pairing-qr")
    qr.wait_for()
    assert qr.get_attribute("alt") == "QR code of the pairing link of Lobby"
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the CSP let the data: SVG through
    link = page.locator("#pairing-links a").get_attribute("href")
    assert page.locator("#pairing-loopback").is_visible()  # the live server is localhost: a tablet could not reach it

    # What a tablet's camera sees: the code as the browser drew it, read back by OpenCV's decoder.
    shot = cv2.imdecode(np.frombuffer(qr.screenshot(), np.uint8), cv2.IMREAD_GRAYSCALE)
    scanned, _points, _ = cv2.QRCodeDetector().detectAndDecode(shot)
    assert scanned == link and "#key=" in link

    tablet = browser_for(None)
    tablet.goto(scanned)
    tablet.locator("#kiosk-name").filter(has_text="Lobby").wait_for()  # its key read its own settings: paired
    assert "#key=" not in tablet.url and "not paired" not in tablet.locator("#message").inner_text()
    assert Kiosk.for_key(scanned.split("#key=")[1]) == Kiosk.objects.get(name="Lobby")

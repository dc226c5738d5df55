"""In Chromium, what HR sees on a laptop: the browsable API's Log out, the charts in dark mode, lists at 1366 px.

Issue 18, bug 7. The fixtures are tests.test_browser's; the faces are prepared (tests.factories): no claim here
is recognition.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from attendance import services
from tests import factories
from tests.test_browser import browser_for  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.usefixtures("prepared_faces")]


@pytest.fixture
def hr_page(browser_for, live_server, settings):  # noqa: F811
    """hr_page(width=1024, height=700, dark=False) -> a page logged in to the admin as a superuser."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain HTTP on loopback
    User.objects.create_superuser("hr", "hr@example.com", "pw")

    def open_page(width=1024, height=700, dark=False):
        page = browser_for(None)
        page.set_viewport_size({"width": width, "height": height})
        if dark:
            page.emulate_media(color_scheme="dark")
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "hr")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        page.locator("#user-tools").wait_for()
        return page
    return open_page


def test_log_out_in_the_browsable_api_logs_out(hr_page, live_server):
    page = hr_page()
    blocked = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.goto(f"{live_server.url}/api/entries/")
    page.click(".navbar .dropdown-toggle")
    page.click("text=Log out")
    page.locator(".navbar >> text=Log in").wait_for()
    assert page.request.get(f"{live_server.url}/api/entries/").status in (401, 403)
    assert not blocked


def rgb(css: str) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"[\d.]+", css)[:3])


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """WCAG's contrast ratio of two sRGB colours (1 to 21)."""
    def luminance(colour):
        linear = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in colour]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_timesheet_charts_numbers_and_labels_read_against_the_page_in_light_and_dark_mode(hr_page, live_server,
                                                                                              dark):
    services.event_add(employee_code="E001", employee_name="Ann Lee", at=timezone.now() - timedelta(minutes=5),
                       direction="in", reason="forgot to clock in", by=None)
    page = hr_page(dark=dark)
    page.goto(f"{live_server.url}/admin/attendance/attendanceevent/timesheet/")
    background = rgb(page.evaluate("getComputedStyle(document.querySelector('#content')).backgroundColor"
                                   " === 'rgba(0, 0, 0, 0)' ? getComputedStyle(document.body).backgroundColor"
                                   " : getComputedStyle(document.querySelector('#content')).backgroundColor"))
    texts = page.locator("svg.chart text")
    assert texts.count() > 0
    fills = {rgb(fill) for fill in texts.evaluate_all("nodes => nodes.map(n => getComputedStyle(n).fill)")}
    assert all(contrast(fill, background) >= 3 for fill in fills), (fills, background)


def test_the_change_lists_fit_a_1366_px_laptop_screen_or_scroll_within_it(hr_page, live_server):
    for n in range(20):
        factories.entry(f"E{n:03d}", name=f"Employee Number {n} With A Long Name",
                        department="Research and Development")
        services.event_add(employee_code=f"E{n:03d}", at=timezone.now() - timedelta(minutes=n + 1), direction="in",
                           reason="forgot to clock in", by=None)
    page = hr_page(1366, 768)
    for path in ("/admin/entries/faceentry/", "/admin/attendance/attendanceevent/", "/admin/audit/auditevent/"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), path  # no sideways page
        results = page.locator("#changelist-form .results")
        box = results.bounding_box()
        fits = results.evaluate("r => r.scrollWidth <= r.clientWidth")
        # What does not fit scrolls sideways inside the list, its scroll bar on screen once the list is in view.
        assert fits or box["height"] <= 768, (path, box)
        results.evaluate("r => { r.scrollLeft = r.scrollWidth }")
        last = page.locator("#result_list thead th").last.bounding_box()
        assert last["x"] + last["width"] <= box["x"] + box["width"] + 1, path  # the last column can be seen
    page.goto(f"{live_server.url}/admin/entries/faceentry/")
    assert page.locator("#changelist-form .results").evaluate("r => r.scrollWidth <= r.clientWidth")  # wraps

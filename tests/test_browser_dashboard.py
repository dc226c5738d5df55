"""In a real browser: an HR staff member (not a superuser) logs in and lands on the dashboard.

It saves the screenshot the docs show (docs/screenshots/dashboard.png).
"""

from pathlib import Path

import pytest

from hr.tests.helpers import a_morning, user_in
from tests.test_browser import browser_for  # noqa: F401  (the fixture)

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "dashboard.png"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_hr_staff_log_in_to_the_dashboard(browser_for, live_server, settings):  # noqa: F811
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain HTTP on loopback
    a_morning()
    user_in("HR staff", "pat")
    page = browser_for(None)
    page.set_viewport_size({"width": 1280, "height": 900})
    refused = []  # what the Content-Security-Policy blocked, and any page or file that failed to load
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.on("response", lambda response: refused.append(response.url) if response.status >= 400 else None)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "pat")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")

    page.locator("#dashboard").wait_for()
    assert page.title() == "Today | FaceRec"
    assert "In now" in page.locator("#dashboard").inner_text()
    assert page.locator("#dashboard svg.chart").count() == 2
    assert "Security" not in page.locator("#content").inner_text()
    assert refused == []
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.click("#dashboard >> text=Open those employees >> nth=0")  # the consent tile
    page.locator("#result_list").filter(has_text="E005").wait_for()
    assert "E006" not in page.locator("#result_list").inner_text()

"""The admin's home page is HR's dashboard: today's figures, each linking to the list behind it."""

import re
from html import unescape

import pytest

from hr import dashboard
from hr.tests.helpers import a_morning, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def hr_staff(client, prepared_faces):
    a_morning()
    client.force_login(user_in("HR staff"))
    return client


def tiles_of(page: str) -> dict[str, str]:
    """{title: the tile's text} from the dashboard's HTML."""
    found = re.findall(r'<article class="tile[^"]*">\s*<h2>(.*?)</h2>(.*?)</article>', page, re.S)
    return {unescape(title): unescape(re.sub(r"<[^>]+>", " ", body)) for title, body in found}


def link_of(page: str, title: str) -> str:
    tile = re.search(rf"<h2>{re.escape(title)}</h2>(.*?)</article>", page, re.S).group(1)
    return unescape(re.search(r'class="tile-link"><a href="([^"]+)"', tile).group(1))


def test_the_admin_home_is_the_dashboard_branded_facerec(hr_staff):
    page = hr_staff.get("/admin/").content.decode()
    assert "<title>Today | FaceRec</title>" in page and ">FaceRec</a>" in page
    assert "Django administration" not in page


def test_the_dashboard_says_who_is_in_who_came_and_what_is_waiting(hr_staff):
    tiles = tiles_of(hr_staff.get("/admin/").content.decode())
    assert " 1 " in tiles["In now"] and "Ann Lee" in tiles["In now"] and "Bob Stone" not in tiles["In now"]
    assert " 2 " in tiles["Arrived today"]
    assert "Cy Park" in tiles["Missing check-outs, last 7 days"]
    assert "Dee Holt" in tiles["Clockings to review"]
    assert "Eve Moss (E005)" in tiles["Employees without a consent reference"]
    retention = tiles["Retention ending within 30 days"]
    assert "Fay Ward (E006)" in retention and "Gil Kerr" not in retention
    assert "28 imported, 2 failed" in tiles["Last imports"]
    assert "Back door" in tiles["Kiosks not seen for a day"] and "Front door" not in tiles["Kiosks not seen for a day"]


def test_the_arrivals_chart_is_inline_svg_with_no_script(hr_staff):
    page = hr_staff.get("/admin/").content.decode()
    assert page.count('<svg class="chart"') == 2
    assert "Arrivals today by hour" in page and "Employees present each day" in page
    assert "<script>" not in page.split('id="dashboard"')[1].split("</section>")[0]


@pytest.mark.parametrize(("title", "shows", "hides"), [
    ("Employees without a consent reference", "E005", "E006"),
    ("Retention ending within 30 days", "E006", "E007"),
    ("Clockings to review", "E004", "E001"),
    ("Kiosks not seen for a day", "Back door", "nobody"),
    ("Last imports", "import_faces", "nothing"),
    ("In now", "Ann Lee", "nobody"),
])
def test_each_tile_opens_the_list_behind_it(hr_staff, client, superuser, title, shows, hides):
    client.force_login(superuser)  # every list open to them, the tiles' links are the same for everyone
    link = link_of(client.get("/admin/").content.decode(), title)
    listed = client.get(link)
    assert listed.status_code == 200, link
    assert shows in listed.content.decode() and hides not in listed.content.decode()


def test_a_tile_shows_only_to_those_who_may_open_its_list(client, prepared_faces):
    a_morning()
    client.force_login(user_in("Kiosk administrator"))
    tiles = tiles_of(client.get("/admin/").content.decode())
    assert list(tiles) == ["Kiosks not seen for a day"]


def test_the_tiles_come_from_the_dashboard_service(rf, superuser, prepared_faces):
    a_morning()
    request = rf.get("/admin/")
    request.user = superuser
    shown = {tile.title: tile for tile in dashboard.tiles(request)}
    assert shown["In now"].count == 1 and shown["Arrived today"].count == 2
    assert shown["Last imports"].alert and not shown["Retention ending within 30 days"].alert

"""Pairing a kiosk: the pairing link and its QR code, shown once to those who may manage kiosks."""

import html
import re
from urllib.parse import unquote

import pytest
import segno
from django.contrib.auth.models import Permission, User

from attendance.admin import pairing_qr
from attendance.models import Kiosk

pytestmark = [pytest.mark.django_db]
ADD = "/admin/attendance/kiosk/add/"
KIOSK = {"name": "Lobby", "location": "HQ", "direction_mode": "", "active": "on"}


def pairing(page: str) -> list[tuple[str, str]]:
    """(link, QR code image URL) of each kiosk on a pairing page."""
    found = re.findall(r'<a href="([^"]+#key=[^"]+)">.*?<img class="pairing-qr" src="([^"]+)"', page, re.S)
    return [(html.unescape(link), html.unescape(qr)) for link, qr in found]


def test_the_pairing_page_shows_a_qr_code_of_the_exact_pairing_link(admin_client, settings):
    settings.ALLOWED_HOSTS = ["facerec.example.com"]
    page = admin_client.post(ADD, KIOSK, secure=True, HTTP_HOST="facerec.example.com").content.decode()
    ((link, qr),) = pairing(page)
    assert link.startswith("https://facerec.example.com/kiosk/#key=")
    assert Kiosk.for_key(link.split("#key=")[1]) == Kiosk.objects.get(name="Lobby")
    assert qr == pairing_qr(link) == segno.make_qr(link, error="m").svg_data_uri(
        scale=5, border=4, dark="#000", light="#fff")
    assert qr.startswith("data:image/svg+xml;") and "<script" not in unquote(qr)  # an image the CSP allows
    assert 'alt="QR code of the pairing link of Lobby"' in page
    assert "errornote" not in page  # HTTPS at a name a tablet can reach: nothing to warn about


def test_issuing_new_keys_shows_each_kiosks_own_qr_code(admin_client):
    for name in ("Lobby", "Back door"):
        admin_client.post(ADD, {**KIOSK, "name": name})
    kiosks = list(Kiosk.objects.order_by("name"))
    page = admin_client.post("/admin/attendance/kiosk/", {
        "action": "issue_new_key", "_selected_action": [k.pk for k in kiosks]}).content.decode()
    shown = pairing(page)
    assert len(shown) == 2 and all(qr == pairing_qr(link) for link, qr in shown)
    assert {Kiosk.for_key(link.split("#key=")[1]) for link, _qr in shown} == set(kiosks)


@pytest.mark.parametrize(("host", "secure", "warning"), [
    ("127.0.0.1:8000", False, "pairing-loopback"),
    ("localhost", True, "pairing-loopback"),
    ("192.168.1.20:8000", False, "pairing-plain-http"),
])
def test_a_link_a_tablet_cannot_use_is_flagged(admin_client, settings, host, secure, warning):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "192.168.1.20"]
    page = admin_client.post(ADD, KIOSK, secure=secure, HTTP_HOST=host).content.decode()
    assert f'id="{warning}"' in page and len(pairing(page)) == 1


def test_only_those_who_may_add_or_change_kiosks_see_a_pairing_link_or_its_qr_code(client):
    kiosk = Kiosk.objects.create(name="Lobby")
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_kiosk"))
    client.force_login(viewer)
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, KIOSK).status_code == 403
    answer = client.post("/admin/attendance/kiosk/", {"action": "issue_new_key", "_selected_action": [kiosk.pk]})
    assert "pairing-qr" not in answer.content.decode() and "#key=" not in answer.content.decode()
    kiosk.refresh_from_db()
    assert not kiosk.key_sha256 and Kiosk.objects.count() == 1


def test_a_kiosks_page_says_how_to_get_a_new_pairing_link(admin_client):
    assert "Saving shows the link to open on the device, and its QR code" in admin_client.get(ADD).content.decode()
    admin_client.post(ADD, KIOSK)
    page = admin_client.get(f"/admin/attendance/kiosk/{Kiosk.objects.get().pk}/change/").content.decode()
    assert "Issue a new key" in page and "pairing-qr" not in page and "#key=" not in page

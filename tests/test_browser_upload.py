"""In a real browser: HR recovers from a refused photo of several people by picking a face, without sending the
photo again, and compares two alike faces side by side (issue 18, bugs 3 and 8). Fixtures from tests/test_browser.py."""

import io

import pytest
from PIL import Image

from entries import identification
from entries.models import FaceEntry, PossibleDuplicate, Resolution
from tests import factories
from tests.test_browser import browser_for  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faces, pytest.mark.browser]


def side_by_side(*photos: bytes, height: int = 700) -> tuple[bytes, list[int]]:
    """One JPEG of these photos next to each other (each `height` px high), and where each starts (x)."""
    images = [Image.open(io.BytesIO(p)).convert("RGB") for p in photos]
    images = [im.resize((round(im.width * height / im.height), height)) for im in images]
    canvas, starts = Image.new("RGB", (sum(im.width for im in images), height), "white"), []
    for im in images:
        starts.append(sum(im.width for im in images[:len(starts)]))
        canvas.paste(im, (starts[-1], 0))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=92)
    return out.getvalue(), starts


def log_in(browser_for, live_server, *permissions):  # noqa: F811
    """A page logged in to the admin as HR staff (not a superuser) with these entries permissions."""
    from django.contrib.auth.models import Permission, User

    hr = User.objects.create_user("hr", "hr@example.com", "pw", is_staff=True)
    hr.user_permissions.set(Permission.objects.filter(content_type__app_label="entries", codename__in=permissions))
    page = browser_for(None)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "hr")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.locator("#user-tools").wait_for()
    return page


def test_hr_picks_the_employees_face_from_a_photo_of_two_people_without_uploading_it_again(
        browser_for, live_server, faces_dir, photo, settings, tmp_path):  # noqa: F811
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain HTTP on loopback
    two, (_, second_starts) = side_by_side(photo("img1.jpg"), photo("img3.jpg"))  # person01, then person02
    (tmp_path / "two.jpg").write_bytes(two)
    page = log_in(browser_for, live_server, "add_faceentry", "change_faceentry", "view_faceentry")
    page.goto(f"{live_server.url}/admin/entries/faceentry/add/")
    page.fill("#id_employee_code", "E002")
    page.fill("#id_name", "Bo Chen")
    page.fill("#id_consent_reference", "form 13")
    page.set_input_files("#id_photo", str(tmp_path / "two.jpg"))
    page.click("input[name=_save]")

    page.locator(".errornote").wait_for()
    assert "2 faces were found" in page.locator("div.form-row.field-photo").inner_text()
    assert "Photo kept: two.jpg" in page.locator(".facerec-kept").inner_text()
    assert page.locator(".facerec-kept img").evaluate("img => img.complete && img.naturalWidth > 0")
    radios = page.locator("input[name=chosen_face]")
    assert radios.count() == 2
    right = next(i for i in range(2) if int(radios.nth(i).get_attribute("value").split(",")[0]) >= second_starts)
    radios.nth(right).check()
    assert page.locator("#id_photo").evaluate("input => input.files.length") == 0  # nothing is sent again
    page.click("input[name=_save]")

    page.locator(".messagelist .success").wait_for()
    entry = FaceEntry.objects.get(employee_code="E002")
    assert entry.face_box[0] >= second_starts
    (face,) = identification.identify(image=photo("img12.jpg"), record=False).faces  # another photo of person02
    assert face.match is not None and face.match.employee_code == "E002"


def test_hr_compares_a_possible_duplicate_side_by_side_and_confirms_different_people(
        browser_for, live_server, settings):  # noqa: F811
    from entries.tests.test_duplicates import inside, register

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    factories.entry("E001", "ann")
    register(inside())  # E002, alike enough to E001 to be flagged, not refused (prepared faces)
    page = log_in(browser_for, live_server, "view_faceentry", "view_possibleduplicate", "change_possibleduplicate")
    page.goto(f"{live_server.url}/admin/entries/possibleduplicate/")
    page.click("#result_list a:text('Compare')")
    page.wait_for_load_state("load")  # the photos too: on a slow store they are still coming
    photos = page.locator(".facerec-compare img")
    assert photos.count() == 2
    for n in range(2):  # both photos load, next to each other
        assert photos.nth(n).evaluate("img => img.complete && img.naturalWidth > 0")
    first, second = (photos.nth(n).bounding_box() for n in range(2))
    assert second["x"] >= first["x"] + first["width"] and abs(second["y"] - first["y"]) < 1
    assert min(first["height"], second["height"]) >= 200, "large enough to tell two people apart"
    page.click("[name=different_people]")
    assert "E002 and E001 are recorded as different people." in page.locator(".messagelist").inner_text()
    assert PossibleDuplicate.objects.get().resolution == Resolution.DIFFERENT

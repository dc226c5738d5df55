"""In a real browser: the kiosk with a fake camera playing real photos, and HR's admin flows.

Playwright (PyPI) drives Debian's Chromium (/usr/bin/chromium, scripts/install-chromium.sh); Chromium plays a
Y4M file made here from ../shared/faces as its camera: frame after frame of the photo with fresh sensor noise and
a pixel of jitter, as a real camera sends (a still picture, identical frames, is never clocked). A failing test
leaves a screenshot in $FACEREC_SCREENSHOT_DIR (default test-artifacts/).
"""

import os
import re
import time
from pathlib import Path

import pytest
from django.db import connections

from attendance import nonbiometric, services
from attendance.models import AttendanceEvent, Kiosk
from attendance.tests.test_attendance import camera_frame
from attendance.tests.test_nonbiometric import badge_frame
from entries.models import FaceEntry
from tests.factories import register

CHROMIUM = Path(os.environ.get("FACEREC_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(os.environ.get("FACEREC_SCREENSHOT_DIR", Path(__file__).resolve().parent.parent / "test-artifacts"))

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faces, pytest.mark.browser]


def camera_file(photo_bytes: bytes, path: Path, frames: int = 10, still: bool = False) -> Path:
    """A Y4M video (640×480, 4:2:0, 5 frames a second) of the photo, which Chromium loops as its camera.

    Each frame is a new capture (noise and jitter as tests.test_attendance.camera_frame makes them), or with
    still=True the same pixels every time.
    """
    with path.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F5:1 Ip A1:1 C420jpeg\n")
        for n in range(frames):
            picture = camera_frame(photo_bytes, seed=n, noise=0 if still else 2.0, jitter=0 if still else 1)
            y, cb, cr = picture.convert("YCbCr").split()
            out.write(b"FRAME\n" + y.tobytes() + cb.resize((320, 240)).tobytes() + cr.resize((320, 240)).tobytes())
    return path


@pytest.fixture
def browser_for(request, tmp_path):
    """browser_for(camera_photo=None, still=False) -> a Playwright page in Chromium, its camera filming that photo."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (scripts/install-chromium.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs beside the live server's ORM
    playwright = sync_api.sync_playwright().start()
    pages = []

    def launch(camera_photo: bytes | None = None, still: bool = False, video: Path | None = None):
        args = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--no-sandbox"]
        if camera_photo is not None:
            video = camera_file(camera_photo, tmp_path / "camera.y4m", still=still)
        if video is not None:
            args.append(f"--use-file-for-fake-video-capture={video}")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        page = browser.new_page(viewport={"width": 1024, "height": 700})
        page.set_default_timeout(30_000)
        pages.append(page)
        return page

    yield launch
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for n, page in enumerate(pages):
            page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-{n}.png"), full_page=True)
    # While Playwright's event loop runs, Django's connections are per context, not per thread: close the
    # ones this test opened, or the test database cannot be dropped at the end of the run.
    connections.close_all()
    playwright.stop()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def kiosk_page(browser_for, live_server, camera_photo, still=False):
    kiosk, key = services.kiosk_register(name="Front door", liveness="off")
    page = browser_for(camera_photo, still=still)
    page.goto(f"{live_server.url}/kiosk/#key={key}")
    return page, kiosk


# --- liveness at the kiosk -------------------------------------------------------------------------

def liveness_video(path: Path, photo_bytes: bytes, kind: str, steps=("left", "right")) -> Path:
    """A camera playing a synthetic answer (bench/sequences.py) from a real photo: 4 s facing the camera, the
    answer (`kind`: bona_fide, flat), then 6 s facing it again; long enough that the kiosk's challenge, however
    late it starts, films the starting pose, both steps and the end, before the video loops."""
    from attendance.tests.test_liveness import _sequences
    from entries.recognition import images

    sequences = _sequences()
    rgb = sequences.resized(images.decode(photo_bytes).rgb)

    def facing(seconds, seed):
        return sequences.still(rgb, ("left",), step_seconds=seconds - 2 * sequences.LEAD_SECONDS, seed=seed)

    answer = getattr(sequences, kind)(rgb, steps, seed=3) if kind != "still" else facing(4.2, 3)
    sequences.to_y4m([*facing(4.0, 1), *answer, *facing(6.0, 2)], path)
    return path


@pytest.fixture
def liveness_kiosk(live_server, monkeypatch, settings):
    """A kiosk asking the challenge; its challenge is left then right, each step shown 3 s.

    The deadline is long: on a loaded machine the capture that issues the challenge and the upload of its answer
    take seconds, and an answer refused as late makes every retry fail too (the fake camera loops, so its frames
    come again byte for byte: `replayed_frame`)."""
    monkeypatch.setattr(services, "challenge_steps", lambda: ["left", "right"])
    settings.ATTENDANCE = {**settings.ATTENDANCE, "CHALLENGE_STEP_SECONDS": 3.0, "CHALLENGE_SECONDS": 60}
    return services.kiosk_register(name="Front door", liveness="challenge")


@pytest.mark.slow
def test_a_live_answer_to_the_challenge_is_clocked(browser_for, live_server, liveness_kiosk, photo, tmp_path):
    register(photo, code="E001", name="Ann Lee")
    page = browser_for(video=liveness_video(tmp_path / "live.y4m", photo("img2.jpg"), "bona_fide"))
    page.goto(f"{live_server.url}/kiosk/#key={liveness_kiosk[1]}")
    page.locator("#message").filter(has_text="Turn your head to your left").wait_for()
    assert page.locator("#challenge").inner_text() == "\u2190"
    page.locator("#message").filter(has_text="Turn your head to your right").wait_for()
    page.locator("#message").filter(has_text=re.compile(r"Good (morning|afternoon|evening), Ann Lee")).wait_for()
    event = AttendanceEvent.objects.get()
    assert (event.employee_code, event.method, event.liveness) == ("E001", "face_liveness", 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["still", "flat"])
def test_a_photo_held_still_or_tilted_is_refused_and_told_what_to_do(browser_for, live_server, liveness_kiosk,
                                                                     photo, tmp_path, kind):
    register(photo, code="E001", name="Ann Lee")
    page = browser_for(video=liveness_video(tmp_path / f"{kind}.y4m", photo("img2.jpg"), kind))
    page.goto(f"{live_server.url}/kiosk/#key={liveness_kiosk[1]}")
    page.locator("#message").filter(has_text="Turn your head to your left").wait_for()
    refused = page.locator("#kiosk[data-state=refused]")
    deadline = time.monotonic() + 60
    while not refused.is_visible():  # an "error" is a refusal of the protocol, not of the liveness check
        assert page.locator("#kiosk").get_attribute("data-state") != "error", page.locator("#message").inner_text()
        assert time.monotonic() < deadline, page.locator("#message").inner_text()
        time.sleep(0.1)
    assert page.locator("#hint").inner_text() == "Look at the camera to try again."
    assert "Ann" not in page.locator("#kiosk").inner_text() and not AttendanceEvent.objects.exists()


# --- the kiosk -------------------------------------------------------------------------------------

def test_an_enrolled_employee_looks_at_the_kiosk_and_is_welcomed_and_clocked_in(browser_for, live_server, photo):
    register(photo, code="E001", name="Ann Lee")
    page, kiosk = kiosk_page(browser_for, live_server, photo("img2.jpg"))
    message = page.locator("#message")
    message.filter(has_text=re.compile(r"Good (morning|afternoon|evening), Ann Lee — in at \d\d:\d\d")).wait_for()
    assert page.locator("#kiosk").get_attribute("data-state") == "clocked"
    assert page.locator("#kiosk-name").inner_text() == "Front door"
    assert "#key=" not in page.url  # the key left the address bar
    event = AttendanceEvent.objects.get()
    assert (event.employee_code, event.direction, event.kiosk) == ("E001", "in", kiosk)
    # Still in front of the camera after the greeting: within the debounce window, no second event.
    message.filter(has_text="Ann Lee, you are already clocked in").wait_for()
    assert AttendanceEvent.objects.count() == 1


def test_a_still_picture_in_front_of_the_kiosk_is_held_not_clocked(browser_for, live_server, photo):
    """A camera sending the same pixels frame after frame (a replayed image) gets "Hold still…", no name, no event."""
    register(photo, code="E001", name="Ann Lee")
    page, kiosk = kiosk_page(browser_for, live_server, photo("img2.jpg"), still=True)
    page.locator("#message").filter(has_text="Hold still").wait_for()
    deadline = time.monotonic() + 30
    while Kiosk.objects.get(pk=kiosk.pk).pending_frames < 6 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert Kiosk.objects.get(pk=kiosk.pk).pending_frames >= 6  # the kiosk kept sending: all the same capture
    assert page.locator("#kiosk").get_attribute("data-state") == "confirming"
    assert "Ann" not in page.locator("#kiosk").inner_text()
    assert AttendanceEvent.objects.count() == 0


def test_a_kiosk_with_buttons_clocks_out_after_out_is_tapped(browser_for, live_server, photo):
    register(photo, code="E001", name="Ann Lee")
    page, kiosk = kiosk_page(browser_for, live_server, photo("img2.jpg"))
    kiosk.direction_mode = "buttons"
    kiosk.save()
    page.reload()
    page.locator("#message").filter(has_text="Tap In or Out").wait_for()
    assert AttendanceEvent.objects.count() == 0  # nothing is sent before a tap
    page.click("button[data-direction=out]")
    page.locator("#message").filter(has_text=re.compile(r"Goodbye, Ann Lee — out at \d\d:\d\d")).wait_for()
    assert AttendanceEvent.objects.get().direction == "out"


def test_a_stranger_is_not_recognised_and_not_clocked(browser_for, live_server, photo):
    register(photo, code="E001", name="Ann Lee")
    page, _ = kiosk_page(browser_for, live_server, photo("img3.jpg"))
    page.locator("#message").filter(has_text="Not recognised").wait_for()
    assert page.locator("#kiosk").get_attribute("data-state") == "unknown"
    assert AttendanceEvent.objects.count() == 0


def test_the_kiosk_key_opens_neither_the_admin_nor_the_entries_api(browser_for, live_server, photo):
    register(photo, code="E001", name="Ann Lee")
    page, _ = kiosk_page(browser_for, live_server, None)
    page.wait_for_function("localStorage.getItem('facerec.kioskKey') !== null")
    statuses = page.evaluate("""async () => {
        const key = localStorage.getItem('facerec.kioskKey');
        const get = async (path) => (await fetch(path, {headers: {Authorization: 'Kiosk ' + key}})).status;
        return [await get('/api/entries/'), await get('/api/entries/E001/'), await get('/api/attendance/events/')];
    }""")
    assert statuses == [401, 401, 401]
    page.goto(f"{live_server.url}/admin/entries/faceentry/")
    assert "/admin/login/" in page.url


def test_an_unpaired_device_is_told_to_ask_hr(browser_for, live_server):
    page = browser_for(None)
    page.goto(f"{live_server.url}/kiosk/")
    page.locator("#message").filter(has_text="This kiosk is not paired").wait_for()


def test_an_employee_without_a_face_clocks_in_with_the_pin_keypad(browser_for, live_server):
    nonbiometric.employee_add(employee_code="N001", name="Bob Stone", pin="4321")
    page, kiosk = kiosk_page(browser_for, live_server, None)
    kiosk.allow_pin = True
    kiosk.save()
    page.reload()
    page.click("#pin-open")
    page.locator("#keypad-code").fill("N001")
    page.click("#keypad-ok")
    for digit in "4321":
        page.click(f"#keypad-keys [data-key='{digit}']")
    assert page.locator("#keypad-pin").input_value() == "4321"
    page.click("#keypad-ok")
    page.locator("#message").filter(has_text=re.compile(r"Good (morning|afternoon|evening), Bob Stone — in")).wait_for()
    assert page.locator("#keypad").is_hidden()
    event = AttendanceEvent.objects.get()
    assert (event.employee_code, event.method, event.kiosk) == ("N001", "pin", kiosk)


def test_a_wrong_pin_on_the_keypad_is_refused(browser_for, live_server):
    nonbiometric.employee_add(employee_code="N001", name="Bob Stone", pin="4321")
    page, kiosk = kiosk_page(browser_for, live_server, None)
    Kiosk.objects.filter(pk=kiosk.pk).update(allow_pin=True)
    page.reload()
    page.click("#pin-open")
    page.locator("#keypad-code").fill("N001")
    page.click("#keypad-ok")
    page.locator("#keypad-pin").fill("1111")
    page.click("#keypad-ok")
    page.locator("#message").filter(has_text="Wrong code or PIN").wait_for()
    assert AttendanceEvent.objects.count() == 0


def test_a_badge_held_to_the_camera_clocks_its_holder(browser_for, live_server, photo):
    employee = nonbiometric.employee_add(employee_code="N001", name="Bob Stone")
    token = nonbiometric.employee_new_badge(employee=employee)
    held = badge_frame(photo("img2.jpg"), token)  # the printed badge beside a face (no face entry: nobody's)
    page, kiosk = kiosk_page(browser_for, live_server, held)
    Kiosk.objects.filter(pk=kiosk.pk).update(allow_badge=True, liveness="off")
    page.reload()
    page.locator("#message").filter(has_text=re.compile(r"Good (morning|afternoon|evening), Bob Stone — in")).wait_for()
    event = AttendanceEvent.objects.get()
    assert (event.employee_code, event.method) == ("N001", "badge")


# --- HR in the admin -------------------------------------------------------------------------------

def test_hr_registers_an_employee_with_a_photo_sees_the_thumbnail_and_identifies_a_photo(
        browser_for, live_server, faces_dir, settings):
    from django.contrib.auth.models import User

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain HTTP on loopback
    User.objects.create_superuser("hr", "hr@example.com", "pw")
    page = browser_for(None)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "hr")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/entries/faceentry/add/")
    page.fill("#id_employee_code", "E001")
    page.fill("#id_name", "Ann Lee")
    page.fill("#id_department", "Sales")
    page.fill("#id_consent_reference", "form 12")
    page.set_input_files("#id_photo", str(faces_dir / "img1.jpg"))
    page.click("input[name=_save]")
    page.locator(".messagelist .success").wait_for()
    assert FaceEntry.objects.get().employee_code == "E001"
    thumbnail = page.locator("#result_list img").first
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
    page.click("text=Identify a photo")
    page.set_input_files("#id_photo", str(faces_dir / "img2.jpg"))
    page.click("input[type=submit]")
    assert "E001 Employee" not in (decision := page.locator("#content-main table, #content table").last.inner_text())
    assert "E001" in decision and "Ann Lee" in decision


def test_a_doubtful_clocking_waits_in_hrs_to_review_list_beside_the_photo_and_hr_confirms_it(
        browser_for, live_server, photo, settings):
    """A real clocking below the review confidence: the kiosk clocks it (its clock in its own zone, 24-hour), HR
    finds it under To review with the kiosk's frame beside the enrolled photo, and confirms it."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from django.contrib.auth.models import User

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain HTTP on loopback
    settings.ATTENDANCE = {**settings.ATTENDANCE, "REVIEW_CONFIDENCE": 1.01}  # every match is doubtful
    register(photo, code="E001", name="Ann Lee")
    kiosk, key = services.kiosk_register(name="Front door", location="Building A", liveness="off")
    Kiosk.objects.filter(pk=kiosk.pk).update(time_zone="Asia/Tokyo")
    page = browser_for(photo("img2.jpg"))
    page.goto(f"{live_server.url}/kiosk/#key={key}")
    page.locator("#message").filter(has_text="Ann Lee").wait_for()
    tokyo = datetime.now(ZoneInfo("Asia/Tokyo"))
    assert page.locator("#clock").inner_text() in {f"{tokyo:%H:%M}", f"{tokyo - timedelta(minutes=1):%H:%M}"}
    event = AttendanceEvent.objects.get()
    assert (event.review, event.review_reasons, event.frames.count()) == ("pending", "low_confidence", 1)

    User.objects.create_superuser("hr", "hr@example.com", "pw")
    hr = browser_for(None)
    hr.goto(f"{live_server.url}/admin/login/")
    hr.fill("#id_username", "hr")
    hr.fill("#id_password", "pw")
    hr.click("input[type=submit]")
    hr.goto(f"{live_server.url}/admin/attendance/")
    hr.click("text=To review")
    hr.locator("#result_list").filter(has_text="low match confidence").wait_for()
    hr.click("#result_list a >> text=E001")
    for picture in (hr.locator("img.review-frame"), hr.locator("img[alt='enrolled photo']")):
        picture.wait_for()
        assert picture.evaluate("img => img.complete && img.naturalWidth > 0")
    hr.click("input[name=confirm]")
    hr.locator(".messagelist .success").filter(has_text="stands").wait_for()
    assert "E001" not in hr.locator("#content").inner_text()  # no longer waiting
    event.refresh_from_db()
    assert event.review == "confirmed" and event.reviewed_by.username == "hr" and event.frames.count() == 0

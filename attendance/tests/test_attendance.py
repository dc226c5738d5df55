"""Time and attendance: kiosks clock employees in and out from camera frames; HR reads timesheets."""

import csv
import io
import threading
from datetime import datetime, timedelta

import numpy as np
import pytest
import requests
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from attendance import services
from attendance.models import AttendanceEvent, Kiosk
from audit.models import AuditEvent
from entries import services as entry_services
from entries.models import FaceEntry
from tests import factories
from tests.factories import face_photo, register

pytestmark = [pytest.mark.django_db(transaction=True)]
CLOCK = "/api/attendance/clock/"


def kiosk_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Kiosk {key}")
    return client


@pytest.fixture
def kiosk():
    return services.kiosk_register(name="Front door", location="Building A", liveness="off")


@pytest.fixture
def ann(photo):
    return register(photo, code="E001", name="Ann Lee", department="Sales")


@pytest.fixture
def prepared_ann(prepared_faces):
    """Ann enrolled from prepared faces: her photos (face_photo("ann", n)) are recognised without the engine."""
    return factories.entry("E001", "ann", name="Ann Lee", department="Sales")


def frame(client, image, **extra):
    return client.post(CLOCK, {"Image": io.BytesIO(image), **extra}, format="multipart")


def camera_frame(photo_bytes: bytes, seed: int, noise: float = 2.0, jitter: int = 1) -> Image.Image:
    """The photo as a kiosk camera captures it (640×480): fresh sensor noise, the face up to a pixel off.

    noise=0, jitter=0 gives the same pixels every time (a still picture).
    """
    rng = np.random.default_rng(seed)
    image = Image.open(io.BytesIO(photo_bytes)).convert("RGB")
    image.thumbnail((640, 480))
    canvas = Image.new("RGB", (640, 480), (40, 40, 40))
    dx, dy = rng.integers(-jitter, jitter + 1, 2) if jitter else (0, 0)
    canvas.paste(image, ((640 - image.width) // 2 + int(dx), (480 - image.height) // 2 + int(dy)))
    pixels = np.asarray(canvas, np.float32) + rng.normal(0, noise, (480, 640, 3)) if noise else np.asarray(canvas)
    return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def capture(photo_bytes: bytes, seed: int) -> bytes:
    """A camera frame as the kiosk page sends it (JPEG, quality 0.85)."""
    return jpeg(camera_frame(photo_bytes, seed))


def reencoded(data: bytes, quality: int) -> bytes:
    return jpeg(Image.open(io.BytesIO(data)).convert("RGB"), quality)


def audit_rows(*actions):
    """(action, employees, frames, ended) of the audit rows of these actions, oldest first."""
    return [(a.action, a.employee_list, a.details.get("frames"), a.details.get("ended"))
            for a in AuditEvent.objects.filter(action__in=actions).order_by("at", "id")]


# --- clocking ------------------------------------------------------------------------------------

@pytest.mark.faces
def test_an_enrolled_employee_is_clocked_in_once_two_frames_agree(kiosk, ann, photo):
    client = kiosk_client(kiosk[1])
    first = frame(client, photo("img2.jpg")).json()
    assert first["status"] == "confirming" and AttendanceEvent.objects.count() == 0
    second = frame(client, photo("img4.jpg")).json()
    assert second["status"] == "clocked", second
    assert second["message"].startswith("Good ") and "Ann Lee — in at " in second["message"]
    event = AttendanceEvent.objects.get()
    assert (event.employee_code, event.direction, event.kiosk, event.department) == ("E001", "in", kiosk[0], "Sales")
    assert 0.5 < event.confidence <= 1 and event.snapshot is None  # no photo kept by default


@pytest.mark.faces
def test_a_stranger_is_not_recognised_and_nothing_is_recorded(kiosk, ann, photo):
    client = kiosk_client(kiosk[1])
    for _ in range(3):
        answer = frame(client, photo("img3.jpg")).json()
        assert answer["status"] == "unknown" and answer["message"] == "Not recognised — please see HR"
        assert answer["event"] is None and "Name" not in answer
    assert AttendanceEvent.objects.count() == 0


@pytest.mark.faces
def test_a_kiosk_learns_nobodys_identity_until_someone_is_clocked(kiosk, ann, photo):
    """A confirming or unknown answer names no one and scores no one: it is all a key holder would get."""
    register(photo, code="E002", name="Bob Roy", image="img3.jpg")
    client = kiosk_client(kiosk[1])
    for picture in ("img2.jpg", "img3.jpg"):  # one frame per person: each enrolled, each recognised
        answer = frame(client, capture(photo(picture), seed=1))
        assert answer.json() == {"status": "confirming", "message": "Hold still…", "event": None}
    stranger = frame(client, capture(photo("img8.jpg"), seed=1))
    assert stranger.json() == {"status": "unknown", "message": "Not recognised — please see HR", "event": None}
    assert AttendanceEvent.objects.count() == 0


@pytest.mark.faces
def test_the_same_frame_sent_again_or_re_encoded_is_not_a_second_capture(kiosk, ann, photo):
    client = kiosk_client(kiosk[1])
    first = capture(photo("img2.jpg"), seed=1)
    for copy in (first, first, reencoded(first, 85), reencoded(first, 95)):
        assert frame(client, copy).json()["status"] == "confirming"
    assert AttendanceEvent.objects.count() == 0
    clocked = frame(client, capture(photo("img2.jpg"), seed=2)).json()  # a new capture of the same pose
    assert clocked["status"] == "clocked" and "Ann Lee" in clocked["message"]
    assert audit_rows("clock", "kiosk_frames") == [("clock", "E001", 5, None)]


@pytest.mark.faces
def test_a_still_picture_is_never_clocked(kiosk, ann, photo):
    """Frames with identical pixels (a photo held up to a kiosk whose camera sends the same image) never agree."""
    still = camera_frame(photo("img2.jpg"), seed=1, noise=0, jitter=0)
    for _ in range(4):
        assert frame(kiosk_client(kiosk[1]), jpeg(still)).json()["status"] == "confirming"
    assert AttendanceEvent.objects.count() == 0


def test_every_frame_that_ran_recognition_is_accounted_for_in_the_audit_once(kiosk, prepared_ann):
    """One row per clocking (with its frames), one per sequence that clocked nobody, with how it ended."""
    start = timezone.make_aware(datetime(2026, 11, 23, 8, 59))
    for seconds, image in [
        (0, face_photo("ann", 1)),  # Ann...
        (1, face_photo("stranger", 1)),  # ...gives way to a stranger: another face
        (2, face_photo("stranger", 2)),
        (3, factories.no_face_photo()),  # the stranger leaves: two unknown frames
        (4, face_photo("ann", 3)), (5, face_photo("ann", 4)),  # Ann clocked: 2 frames
        (6, face_photo("ann", 5)), (7, face_photo("ann", 6)),  # already clocked: 2 frames
        (8, face_photo("ann", 7)),  # Ann, then nothing for longer than the confirm window
        (30, face_photo("ann", 8)),  # ...and again, then the kiosk is switched off
    ]:
        services.clock(kiosk=kiosk[0], image=image, now=start + timedelta(seconds=seconds))
    call_command("purge_snapshots", stdout=io.StringIO())  # the daily command closes what a silent kiosk left
    assert audit_rows("clock", "kiosk_frames") == [
        ("kiosk_frames", "E001", 1, "another_face"), ("kiosk_frames", "", 2, "no_face"), ("clock", "E001", 2, None),
        ("kiosk_frames", "E001", 2, "already"), ("kiosk_frames", "E001", 1, "expired"),
        ("kiosk_frames", "E001", 1, "expired")]
    assert {a.details["kiosk"] for a in AuditEvent.objects.filter(action="kiosk_frames")} == {"Front door"}
    assert set(AuditEvent.objects.filter(action__in=["clock", "kiosk_frames"]).values_list("actor_name", flat=True)) \
        <= {"kiosk Front door", f"{__import__('getpass').getuser()} (command line)"}


def test_parallel_frames_from_two_kiosks_are_each_counted_once(live_server, prepared_ann, settings):
    """Six frames at once, three per kiosk: one clocking, and every frame in exactly one audit row."""
    # On a loaded machine the queued frames may be seconds apart: this is about concurrency, not the window
    settings.ATTENDANCE = {**settings.ATTENDANCE, "CONFIRM_WINDOW_SECONDS": 600}
    keys = [services.kiosk_register(name=f"Door {n}", liveness="off")[1] for n in (1, 2)]
    frames = [(key, face_photo("ann", seed + 1)) for seed, key in enumerate(keys * 3)]
    start, answers = threading.Barrier(len(frames)), []

    def post(key, image):
        start.wait()
        answers.append(requests.post(live_server.url + CLOCK, headers={"Authorization": f"Kiosk {key}"},
                                     files={"Image": image}, timeout=120).json()["status"])

    threads = [threading.Thread(target=post, args=item) for item in frames]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for key in keys:  # Ann steps away: what each kiosk still held is accounted for
        requests.post(live_server.url + CLOCK, headers={"Authorization": f"Kiosk {key}"},
                      files={"Image": factories.no_face_photo()}, timeout=60)
    assert answers.count("clocked") == 1 and AttendanceEvent.objects.count() == 1
    rows = audit_rows("clock", "kiosk_frames")
    assert [r[0] for r in rows].count("clock") == 1
    assert sum(r[2] for r in rows) == 6 and {r[1] for r in rows} == {"E001"}


def test_the_debounce_window_then_alternating_in_and_out(kiosk, prepared_ann):
    start = timezone.make_aware(datetime(2026, 11, 23, 8, 59))

    def twice(at):
        services.clock(kiosk=kiosk[0], image=face_photo("ann", 1), now=at)
        return services.clock(kiosk=kiosk[0], image=face_photo("ann", 2), now=at + timedelta(seconds=1))

    assert twice(start).event.direction == "in"
    again = twice(start + timedelta(minutes=1))  # within the 2-minute window
    assert again.status == "already" and "already clocked in at 08:59" in _message(again)
    assert twice(start + timedelta(hours=8, minutes=31)).event.direction == "out"
    night = start + timedelta(hours=13)  # 21:59: in, and out at 06:00 the next morning
    assert [twice(night).event.direction, twice(night + timedelta(hours=8)).event.direction] == ["in", "out"]
    assert twice(night + timedelta(hours=8 + 17)).event.direction == "in"  # no shift open: in
    assert list(AttendanceEvent.objects.order_by("at").values_list("direction", flat=True)) == [
        "in", "out", "in", "out", "in"]


def _message(result):
    from attendance.api import message

    return message(result)


def test_a_kiosk_with_buttons_needs_in_or_out(kiosk, prepared_ann):
    Kiosk.objects.filter(pk=kiosk[0].pk).update(direction_mode="buttons")
    client = kiosk_client(kiosk[1])
    answer = frame(client, face_photo("ann", 1))
    assert answer.status_code == 400 and answer.json()["code"] == "direction_required"
    frame(client, face_photo("ann", 1), direction="out")
    assert frame(client, face_photo("ann", 2), direction="out").json()["event"]["direction"] == "out"


def test_two_kiosks_clocking_one_employee_at_once_record_one_event(live_server, prepared_ann, settings):
    settings.ATTENDANCE = {**settings.ATTENDANCE, "CONFIRM_FRAMES": 1}
    keys = [services.kiosk_register(name=f"Door {n}", liveness="off")[1] for n in (1, 2)]
    answers, start = [], threading.Barrier(2)

    def post(key):
        start.wait()
        answers.append(requests.post(live_server.url + CLOCK, headers={"Authorization": f"Kiosk {key}"},
                                     files={"Image": face_photo("ann", 1)}, timeout=60).json()["status"])

    threads = [threading.Thread(target=post, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["already", "clocked"]
    assert AttendanceEvent.objects.count() == 1


def test_a_kiosk_sees_only_the_time_direction_and_name_of_a_clocking(kiosk, prepared_ann):
    client = kiosk_client(kiosk[1])
    frame(client, face_photo("ann", 1))
    clocked = frame(client, face_photo("ann", 2)).json()
    assert clocked["status"] == "clocked" and set(clocked["event"]) == {"time", "direction", "Name"}
    event = AttendanceEvent.objects.get()
    services.event_correct(event=event, at=event.at - timedelta(seconds=30), direction="in",
                           reason="HR only: disciplinary note", by=None)
    frame(client, face_photo("ann", 3))
    already = frame(client, face_photo("ann", 4))
    assert already.json()["status"] == "already"
    assert already.json()["event"] == {"time": already.json()["event"]["time"], "direction": "in", "Name": "Ann Lee"}
    assert b"disciplinary" not in already.content and b"similarity" not in already.content


def test_an_event_in_the_future_needs_confirmation_and_is_bounded():
    from attendance import conf

    now, limit = timezone.now(), conf.get("FUTURE_EVENT_MAX_HOURS")
    fields = {"employee_code": "E003", "employee_name": "Cy Dee", "direction": "in", "reason": "test", "by": None}
    with pytest.raises(services.FutureEvent) as refused:
        services.event_add(at=now + timedelta(hours=1), **fields)
    assert refused.value.code == "future_event" and "future" in refused.value.message
    event = services.event_add(at=now + timedelta(hours=1), future=True, **fields)
    with pytest.raises(services.FutureEvent):
        services.event_add(at=now + timedelta(hours=limit, minutes=1), future=True, **fields)
    with pytest.raises(services.FutureEvent):
        services.event_correct(event=event, at=now + timedelta(hours=2), direction="in", reason="typo", by=None)
    services.event_correct(event=event, at=now - timedelta(hours=2), direction="in", reason="typo", by=None)
    assert AttendanceEvent.objects.count() == 1


def test_the_admin_asks_to_confirm_a_future_time(week, client):
    client.force_login(week)
    tomorrow = timezone.localtime() + timedelta(hours=2)
    form = {"employee_code": "E002", "employee_name": "Bob Roy", "department": "", "at_0": f"{tomorrow:%Y-%m-%d}",
            "at_1": f"{tomorrow:%H:%M:%S}", "direction": "in", "correction_reason": "shift starts early"}
    refused = client.post("/admin/attendance/attendanceevent/add/", form).content.decode()
    assert "in the future" in refused and AttendanceEvent.objects.filter(at__gt=timezone.now()).count() == 0
    nameless = client.post("/admin/attendance/attendanceevent/add/", {**form, "future": "on", "employee_name": ""})
    assert nameless.status_code == 200 and "give their name" in nameless.content.decode()  # not enrolled: no 500
    client.post("/admin/attendance/attendanceevent/add/", {**form, "future": "on"})
    assert AttendanceEvent.objects.filter(at__gt=timezone.now()).count() == 1


def test_kiosks_ignore_events_dated_after_now(kiosk, prepared_ann):
    """An in HR dated in an hour neither blocks Ann (debounce) nor makes her next clocking an out."""
    services.event_add(employee_code="E001", at=timezone.now() + timedelta(hours=1), direction="in",
                       reason="planned", by=None, future=True)
    client = kiosk_client(kiosk[1])
    frame(client, face_photo("ann", 1))
    answer = frame(client, face_photo("ann", 2)).json()
    assert answer["status"] == "clocked" and answer["event"]["direction"] == "in"


# --- the kiosk's key -----------------------------------------------------------------------------

def test_a_kiosk_key_can_clock_and_nothing_else(kiosk, prepared_ann, client):
    device = kiosk_client(kiosk[1])
    assert device.get("/api/attendance/kiosk/").json()["name"] == "Front door"
    for response in (device.get("/api/entries/"), device.get("/api/entries/E001/"),
                     device.post("/api/identify/", {"Image": io.BytesIO(face_photo("ann", 1))}, format="multipart"),
                     device.get("/api/attendance/events/"), device.get("/api/attendance/timesheet/")):
        assert response.status_code == 401, response.content
    admin = client.get("/admin/entries/faceentry/", HTTP_AUTHORIZATION=f"Kiosk {kiosk[1]}")
    assert admin.status_code == 302 and "/admin/login/" in admin["Location"]


def test_a_wrong_or_revoked_key_is_refused(kiosk):
    assert kiosk_client("guessed").get("/api/attendance/kiosk/").status_code == 401
    Kiosk.objects.filter(pk=kiosk[0].pk).update(active=False)
    answer = kiosk_client(kiosk[1]).get("/api/attendance/kiosk/")
    assert answer.status_code == 401 and "pair this kiosk again" in answer.json()["message"]


def test_a_new_key_replaces_the_old_one(kiosk):
    new = services.kiosk_new_key(kiosk=kiosk[0])
    assert kiosk_client(kiosk[1]).get("/api/attendance/kiosk/").status_code == 401
    assert kiosk_client(new).get("/api/attendance/kiosk/").status_code == 200


# --- records ---------------------------------------------------------------------------------------

def test_deleting_a_face_entry_keeps_attendance_but_drops_kept_snapshots(kiosk, prepared_ann, settings):
    settings.ATTENDANCE = {**settings.ATTENDANCE, "KEEP_SNAPSHOTS": True}
    services.clock(kiosk=kiosk[0], image=face_photo("ann", 1))
    services.clock(kiosk=kiosk[0], image=face_photo("ann", 2))
    assert AttendanceEvent.objects.get().snapshot is not None
    entry_services.entry_delete(entry=FaceEntry.objects.get(employee_code="E001"))
    event = AttendanceEvent.objects.get()
    assert event.employee_name == "Ann Lee" and event.snapshot is None


def hr_user():
    user = User.objects.create_user("hr", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="attendance"))
    return user


def at(day, clock):
    return timezone.make_aware(datetime.fromisoformat(f"{day}T{clock}"))


@pytest.fixture
def week():
    hr = hr_user()
    for code, name, dept, direction, when in [
        ("E001", "Ann Lee", "Sales", "in", at("2026-11-23", "08:59")),
        ("E001", "Ann Lee", "Sales", "out", at("2026-11-23", "12:00")),
        ("E001", "Ann Lee", "Sales", "in", at("2026-11-23", "13:00")),
        ("E001", "Ann Lee", "Sales", "out", at("2026-11-23", "17:30")),
        ("E002", "Bob Roy", "IT", "in", at("2026-11-23", "10:15")),
        ("E002", "Bob Roy", "IT", "in", at("2026-11-24", "09:05")),
        ("E002", "Bob Roy", "IT", "out", at("2026-11-24", "18:05")),
    ]:
        services.event_add(employee_code=code, employee_name=name, department=dept, at=when, direction=direction,
                           reason="test data", by=hr)
    return hr


def test_a_timesheet_has_first_in_last_out_hours_and_flags_a_missing_check_out(week):
    days = services.timesheet(datetime(2026, 11, 23).date(), datetime(2026, 11, 29).date())
    summary = [(d.date.isoformat(), d.employee_code, d.hours, d.missing_checkout) for d in days]
    assert summary == [("2026-11-23", "E001", 7.52, False), ("2026-11-23", "E002", 0.0, True),
                       ("2026-11-24", "E002", 9.0, False)]
    assert timezone.localtime(days[0].first_in).strftime("%H:%M") == "08:59"
    assert timezone.localtime(days[0].last_out).strftime("%H:%M") == "17:30"
    assert services.arrivals_by_hour(days)[8:11] == [1, 1, 1]


def test_the_timesheet_and_events_api_in_json_and_csv(week):
    client = APIClient()
    client.force_authenticate(week)
    rows = client.get("/api/attendance/timesheet/?from=2026-11-23&to=2026-11-29&department=IT").json()
    assert [(r["date"], r["hours"], r["missing_checkout"]) for r in rows] == [
        ("2026-11-23", 0.0, True), ("2026-11-24", 9.0, False)]
    response = client.get("/api/attendance/timesheet/?from=2026-11-23&to=2026-11-23&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["Employeecode"], r["hours"]) for r in table] == [("E001", "7.52"), ("E002", "0.0")]
    events = client.get("/api/attendance/events/?employee=E002&direction=in").json()
    assert events["count"] == 2 and {e["Name"] for e in events["results"]} == {"Bob Roy"}
    bad = client.get("/api/attendance/timesheet/?from=2026-11-23&to=2026-01-01")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_attendance_is_hidden_from_users_without_permission(week):
    client = APIClient()
    client.force_authenticate(User.objects.create_user("nobody", password="pw"))
    assert client.get("/api/attendance/events/").status_code == 403
    assert client.get("/api/attendance/timesheet/").status_code == 403


# --- HR in the admin -------------------------------------------------------------------------------

def _key_in(page: str) -> str:
    return page.split("#key=")[1].split('"')[0]


def test_hr_registers_a_kiosk_and_gets_its_pairing_link_once_never_in_a_cookie(admin_client):
    response = admin_client.post("/admin/attendance/kiosk/add/", {"name": "Lobby", "location": "HQ",
                                                                  "direction_mode": "", "active": "on"})
    kiosk = Kiosk.objects.get(name="Lobby")
    # The link is on the answer itself, not carried to the next page by Django's messages cookie
    assert response.status_code == 200
    key = _key_in(response.content.decode())
    assert Kiosk.for_key(key) == kiosk and key not in (kiosk.key_sha256, kiosk.key_prefix)
    assert not any(key in morsel.value for morsel in response.cookies.values())
    assert key not in admin_client.get("/admin/attendance/kiosk/").content.decode()
    page = admin_client.get(f"/admin/attendance/kiosk/{kiosk.pk}/change/").content.decode()
    assert "a printed photo or a phone screen" in page and key not in page  # liveness is off by default
    kiosk.liveness = "challenge"
    kiosk.save()
    page = admin_client.get(f"/admin/attendance/kiosk/{kiosk.pk}/change/").content.decode()
    assert "It does not stop a live video of the employee obeying this very challenge" in page


def test_issuing_re_keying_and_revoking_kiosk_keys_are_audited(admin_client):
    admin_client.post("/admin/attendance/kiosk/add/", {"name": "Lobby", "direction_mode": "", "active": "on"})
    kiosk = Kiosk.objects.get(name="Lobby")
    changelist = "/admin/attendance/kiosk/"
    answer = admin_client.post(changelist, {"action": "issue_new_key", "_selected_action": [kiosk.pk]})
    key = _key_in(answer.content.decode())
    assert Kiosk.for_key(key) == kiosk
    assert not any(key in morsel.value for morsel in answer.cookies.values())
    admin_client.post(changelist, {"action": "revoke", "_selected_action": [kiosk.pk]})
    assert Kiosk.for_key(key) is None
    rows = AuditEvent.objects.filter(action="kiosk_key").order_by("at", "id")
    assert [r.details["operation"] for r in rows] == ["issue", "rekey", "revoke"]
    assert all(r.details["kiosk"] == "Lobby" and r.actor_name == "admin" and r.via == "admin" for r in rows)


def test_showing_a_kept_snapshot_is_audited(kiosk, prepared_ann, settings, admin_client):
    settings.ATTENDANCE = {**settings.ATTENDANCE, "KEEP_SNAPSHOTS": True}
    services.clock(kiosk=kiosk[0], image=face_photo("ann", 1))
    services.clock(kiosk=kiosk[0], image=face_photo("ann", 2))
    event = AttendanceEvent.objects.get(employee_code="E001")
    assert event.snapshot
    page = admin_client.get(f"/admin/attendance/attendanceevent/{event.pk}/change/").content.decode()
    assert "data:image/jpeg;base64," in page
    (row,) = AuditEvent.objects.filter(action="view_snapshot")
    assert "E001" in row.employees and row.actor_name == "admin"


def test_hr_corrects_an_event_with_a_reason_and_it_is_recorded_who_and_when(week, client):
    client.force_login(week)
    event = AttendanceEvent.objects.get(employee_code="E002", at=at("2026-11-23", "10:15"))
    url = f"/admin/attendance/attendanceevent/{event.pk}/change/"
    form = {"at_0": "2026-11-23", "at_1": "09:15:00", "direction": "in", "correction_reason": ""}
    assert "This field is required" in client.post(url, form).content.decode()
    client.post(url, {**form, "correction_reason": "badge reader photo shows 09:15"})
    event.refresh_from_db()
    assert timezone.localtime(event.at).strftime("%H:%M") == "09:15"
    assert event.corrected_by == week and event.correction_reason == "badge reader photo shows 09:15"


def test_the_admin_timesheet_shows_charts_and_downloads_csv_and_xlsx(week, client):
    client.force_login(week)
    page = client.get("/admin/attendance/attendanceevent/timesheet/?day=2026-11-23&span=week")
    html = page.content.decode()
    assert page.status_code == 200 and "missing check-out" in html and html.count('<svg class="chart"') == 2
    download = client.get("/admin/attendance/attendanceevent/timesheet/?day=2026-11-23&span=week&download=csv")
    assert b"E001,Ann Lee,Sales" in download.content
    xlsx = client.get("/admin/attendance/attendanceevent/timesheet/?day=2026-11-23&span=week&download=xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[2]][1:3] == ["E001", "Ann Lee"]
    listing = client.get("/admin/attendance/attendanceevent/?department=IT").content.decode()
    assert "Bob Roy" in listing and "Ann Lee" not in listing


def test_deleting_an_event_needs_a_reason_and_is_audited(week):
    event = AttendanceEvent.objects.get(employee_code="E002", at=at("2026-11-23", "10:15"))
    for blank in ("", "   "):
        with pytest.raises(services.ReasonRequired) as refused:
            services.event_delete(event=event, reason=blank, by=week)
        assert refused.value.code == "reason_required"
    assert AttendanceEvent.objects.filter(pk=event.pk).exists() and not AuditEvent.objects.filter(
        action="delete_event").exists()
    services.event_delete(event=event, reason="entered twice", by=week)
    assert not AttendanceEvent.objects.filter(pk=event.pk).exists()
    (row,) = AuditEvent.objects.filter(action="delete_event")
    assert row.employee_list == "E002" and row.details["reason"] == "entered twice"
    assert row.details["direction"] == "in" and row.details["at"].startswith("2026-11-23")


def test_the_admin_deletes_one_event_only_with_a_reason(week, client):
    client.force_login(week)
    event = AttendanceEvent.objects.get(employee_code="E002", at=at("2026-11-23", "10:15"))
    url = f"/admin/attendance/attendanceevent/{event.pk}/delete/"
    page = client.get(url).content.decode()
    assert 'name="reason"' in page and "Bob Roy" in page
    refused = client.post(url, {"post": "yes", "reason": ""})
    assert refused.status_code == 200 and "This field is required" in refused.content.decode()
    assert AttendanceEvent.objects.filter(pk=event.pk).exists()
    done = client.post(url, {"post": "yes", "reason": "a test badge"})
    assert done.status_code == 302 and not AttendanceEvent.objects.filter(pk=event.pk).exists()
    assert [r.details["reason"] for r in AuditEvent.objects.filter(action="delete_event")] == ["a test badge"]


def test_the_admin_deletes_selected_events_only_with_a_reason(week, client):
    client.force_login(week)
    changelist = "/admin/attendance/attendanceevent/"
    assert "delete_selected" not in client.get(changelist).content.decode()  # Django's reasonless action is gone
    chosen = list(AttendanceEvent.objects.filter(employee_code="E001").values_list("pk", flat=True))
    selection = {"action": "delete_with_reason", "_selected_action": [str(pk) for pk in chosen]}
    asked = client.post(changelist, selection)
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode() and len(chosen) == 4
    blank = client.post(changelist, {**selection, "apply": "yes", "reason": " "})
    assert "This field is required" in blank.content.decode() and AttendanceEvent.objects.count() == 7
    client.post(changelist, {**selection, "apply": "yes", "reason": "test data"})
    assert AttendanceEvent.objects.count() == 3
    rows = AuditEvent.objects.filter(action="delete_event")
    assert rows.count() == 4 and {(r.employee_list, r.details["reason"], r.actor_name) for r in rows} == {
        ("E001", "test data", "hr")}


def test_kept_snapshots_expire_and_purge_snapshots_drops_them(kiosk, prepared_ann, settings):
    from django.core.management import call_command

    settings.ATTENDANCE = {**settings.ATTENDANCE, "KEEP_SNAPSHOTS": True, "SNAPSHOT_DAYS": 7}
    long_ago = timezone.now() - timedelta(days=8)
    services.clock(kiosk=kiosk[0], image=face_photo("ann", 1), now=long_ago)
    services.clock(kiosk=kiosk[0], image=face_photo("ann", 2), now=long_ago + timedelta(seconds=1))
    out = io.StringIO()
    call_command("purge_snapshots", stdout=out)
    assert "1 snapshot(s) dropped" in out.getvalue()
    assert AttendanceEvent.objects.get().snapshot is None


def test_someone_in_today_is_still_in_not_missing_a_check_out(kiosk):
    now = timezone.now()
    services.event_add(employee_code="E003", employee_name="Cy Dee", at=now - timedelta(minutes=5), direction="in",
                       reason="test", by=None)
    (today,) = services.timesheet(timezone.localdate(now), timezone.localdate(now))
    assert today.still_in and not today.missing_checkout


def test_a_night_shift_counts_on_the_evening_it_began():
    for direction, when in [("in", at("2026-11-23", "22:00")), ("out", at("2026-11-24", "06:15"))]:
        services.event_add(employee_code="N1", employee_name="Nia Night", at=when, direction=direction,
                           reason="test", by=None)
    (evening,) = services.timesheet(datetime(2026, 11, 23).date(), datetime(2026, 11, 23).date())
    assert (evening.hours, evening.missing_checkout) == (8.25, False)
    assert timezone.localtime(evening.last_out).strftime("%d %H:%M") == "24 06:15"
    assert services.timesheet(datetime(2026, 11, 24).date(), datetime(2026, 11, 24).date()) == []

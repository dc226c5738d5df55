"""Clocking without a face: PINs with lockouts, badges read from camera frames, withdrawing consent."""

import io
import threading
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from PIL import Image

from attendance import badges, nonbiometric, services
from attendance.models import AttendanceEvent, Method, NonBiometricEmployee
from audit.models import AuditEvent
from entries import services as entry_services
from entries.models import FaceEntry, FacePhoto
from tests import factories

from .test_attendance import jpeg, kiosk_client

pytestmark = [pytest.mark.django_db(transaction=True)]
CLOCK, PIN = "/api/attendance/clock/", "/api/attendance/clock/pin/"
EMPLOYEES, WITHDRAW = "/api/attendance/employees/", "/api/attendance/withdraw-consent/"


def pin_kiosk(name="Side door", **fields):
    kiosk, key = services.kiosk_register(name=name)
    for field, value in {"allow_pin": True, **fields}.items():
        setattr(kiosk, field, value)
    kiosk.save()
    return kiosk, key


@pytest.fixture
def bob():
    return nonbiometric.employee_add(employee_code="N001", name="Bob Stone", department="Stores", pin="4321")


def refused(kiosk, code="N001", pin="0000", **kwargs):
    with pytest.raises((nonbiometric.PinRefused, nonbiometric.PinLocked)) as error:
        nonbiometric.clock_pin(kiosk=kiosk, employee_code=code, pin=pin, **kwargs)
    return error.value.code


# --- employees without a face -----------------------------------------------------------------------------

def test_an_employee_without_a_face_clocks_in_then_out_with_their_pin(bob):
    kiosk, key = pin_kiosk()
    answer = kiosk_client(key).post(PIN, {"Employeecode": "N001", "pin": "4321"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "clocked"
    assert answer.json()["message"].startswith("Good ") and "Bob Stone — in" in answer.json()["message"]
    event = AttendanceEvent.objects.get()
    assert (event.method, event.direction, event.kiosk_name, event.department) == (Method.PIN, "in", "Side door",
                                                                                   "Stores")
    later = timezone.now() + timedelta(hours=8)
    assert nonbiometric.clock_pin(kiosk=kiosk, employee_code="N001", pin="4321", now=later).event.direction == "out"
    assert AuditEvent.objects.filter(action="clock", employees__contains=",N001,").count() == 2


def test_a_second_pin_within_the_debounce_window_is_the_same_clocking(bob):
    kiosk, _ = pin_kiosk()
    first = nonbiometric.clock_pin(kiosk=kiosk, employee_code="N001", pin="4321")
    again = nonbiometric.clock_pin(kiosk=kiosk, employee_code="N001", pin="4321")
    assert (again.status, again.event.pk) == ("already", first.event.pk)


def test_a_kiosk_that_does_not_allow_pins_refuses_them(bob):
    kiosk, key = pin_kiosk(allow_pin=False)
    answer = kiosk_client(key).post(PIN, {"Employeecode": "N001", "pin": "4321"}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (403, "pin_not_allowed")
    assert not AttendanceEvent.objects.exists()


def test_the_kiosk_says_whether_it_takes_pins_and_badges():
    _, key = pin_kiosk(allow_badge=True)
    answer = kiosk_client(key).get("/api/attendance/kiosk/").json()
    assert (answer["allow_pin"], answer["allow_badge"]) == (True, True)


def test_an_unknown_code_answers_exactly_as_a_wrong_pin(bob):
    _, key = pin_kiosk()
    wrong = kiosk_client(key).post(PIN, {"Employeecode": "N001", "pin": "1111"}, format="json")
    unknown = kiosk_client(key).post(PIN, {"Employeecode": "N999", "pin": "1111"}, format="json")
    assert wrong.status_code == unknown.status_code == 403
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "pin_refused"


@pytest.mark.parametrize("body", [{}, {"Employeecode": "N001"}, {"Employeecode": "N001", "pin": "123456789"},
                                  {"Employeecode": "N001", "pin": "4321", "direction": "sideways"}])
def test_a_malformed_pin_request_is_a_400_and_clocks_no_one(bob, body):
    _, key = pin_kiosk()
    answer = kiosk_client(key).post(PIN, body, format="json")
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid")
    assert not AttendanceEvent.objects.exists()


def test_a_wrong_pin_five_times_locks_the_employee_out_at_every_kiosk(bob, settings):
    door, side, back = pin_kiosk("Door")[0], pin_kiosk("Side")[0], pin_kiosk("Back")[0]
    # Wrong PINs spread over two kiosks: neither kiosk reaches the limit, the employee does.
    assert [refused(door) for _ in range(3)] + [refused(side) for _ in range(2)] == ["pin_refused"] * 5
    assert refused(back, pin="4321") == "pin_locked"  # even the right PIN, at a third kiosk
    assert AuditEvent.objects.filter(action="pin_lockout", employees__contains=",N001,").count() == 1
    # ...until the lockout ends.
    later = timezone.now() + timedelta(minutes=16)
    assert nonbiometric.clock_pin(kiosk=back, employee_code="N001", pin="4321", now=later).status == "clocked"


def test_wrong_pins_for_any_codes_lock_the_kiosk_for_everyone(bob):
    kiosk, other = pin_kiosk("Door")[0], pin_kiosk("Side")[0]
    assert [refused(kiosk, code=f"X{n}") for n in range(5)] == ["pin_refused"] * 5  # codes nobody has
    assert refused(kiosk, pin="4321") == "pin_locked"
    assert AuditEvent.objects.filter(action="pin_lockout").count() == 1
    assert nonbiometric.clock_pin(kiosk=other, employee_code="N001", pin="4321").status == "clocked"


def test_a_right_pin_resets_the_counts_of_wrong_ones(bob):
    kiosk, _ = pin_kiosk()
    for _ in range(4):
        refused(kiosk)
    nonbiometric.clock_pin(kiosk=kiosk, employee_code="N001", pin="4321")
    assert [refused(kiosk) for _ in range(4)] == ["pin_refused"] * 4
    kiosk.refresh_from_db()
    bob.refresh_from_db()
    assert (kiosk.failed_pins, bob.failed_pins, bob.locked_until) == (4, 4, None)


def test_parallel_wrong_pins_never_get_more_tries_than_the_limit(live_server, bob):
    _, key = pin_kiosk()
    count = 12
    start, answers = threading.Barrier(count), []

    def post(n):
        start.wait()
        answers.append(requests.post(live_server.url + PIN, headers={"Authorization": f"Kiosk {key}"},
                                     json={"Employeecode": "N001", "pin": f"{1000 + n}"}, timeout=60))

    threads = [threading.Thread(target=post, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(answer.json()["code"] for answer in answers)
    assert codes == ["pin_locked"] * (count - 5) + ["pin_refused"] * 5
    assert AuditEvent.objects.filter(action="pin_lockout").count() == 2  # the employee and the kiosk, once each


def test_an_employee_is_added_with_a_pin_hash_and_the_api_never_shows_it(api):
    answer = api.post(EMPLOYEES, {"Employeecode": "N002", "Name": "Cy Dee", "Department": "Yard", "pin": "987654"},
                      format="json")
    assert answer.status_code == 201, answer.content
    employee = NonBiometricEmployee.objects.get(employee_code="N002")
    assert employee.pin_hash and "987654" not in employee.pin_hash
    badge = api.post(f"{EMPLOYEES}N002/badge/")
    assert badge.status_code == 201 and badge.json()["payload"] == "facerec-badge:" + badge.json()["token"]
    employee.refresh_from_db()
    shown = api.get(f"{EMPLOYEES}N002/").json()
    assert shown["has_pin"] and shown["has_badge"]
    assert employee.pin_hash not in str(shown) and employee.badge_sha256 not in str(shown)
    assert badge.json()["token"] not in str(shown)
    assert {"pin", "pin_hash", "badge_sha256"}.isdisjoint(shown)
    assert AuditEvent.objects.filter(action="non_biometric", employees__contains=",N002,").count() == 2


@pytest.mark.parametrize("pin", ["12", "abcd", "123456789", "12 34", "\u0661\u0662\u0663\u0664"])
def test_a_pin_is_four_to_eight_digits(bob, pin):
    with pytest.raises(nonbiometric.InvalidPin):
        nonbiometric.employee_set_pin(employee=bob, pin=pin)
    with pytest.raises(nonbiometric.InvalidPin):
        nonbiometric.employee_add(employee_code="N005", name="X", pin=pin)
    assert not NonBiometricEmployee.objects.filter(employee_code="N005").exists()


def test_a_code_with_a_face_entry_or_taken_already_cannot_be_added(api, prepared_faces, bob):
    factories.entry("E001", "ann", name="Ann Lee")
    for code in ("E001", "N001"):
        answer = api.post(EMPLOYEES, {"Employeecode": code, "Name": "Someone"}, format="json")
        assert (answer.status_code, answer.json()["code"]) == (409, "employee_exists")
    assert NonBiometricEmployee.objects.count() == 1


def test_employees_without_a_face_need_model_permissions(client, viewer):
    client.force_login(viewer)
    assert client.get(EMPLOYEES).status_code == 403
    assert client.post(WITHDRAW, {"Employeecode": "E001"}).status_code == 403


# --- withdrawing consent ----------------------------------------------------------------------------------

def test_withdrawing_consent_deletes_the_face_data_and_keeps_the_history(api, prepared_faces):
    factories.entry("E001", "ann", photos=3, name="Ann Lee", department="Sales")
    AttendanceEvent.objects.create(employee_code="E001", employee_name="Ann Lee", department="Sales",
                                   direction="in", kiosk_name="Front door")
    answer = api.post(WITHDRAW, {"Employeecode": "E001"}, format="json")
    assert answer.status_code == 201, answer.content
    assert not FaceEntry.objects.filter(employee_code="E001").exists()
    assert not FacePhoto.objects.exists()  # every photo and its embedding
    assert entry_services.employee_summary("E001") is None
    employee = NonBiometricEmployee.objects.get(employee_code="E001")
    assert (employee.employee_name, employee.department) == ("Ann Lee", "Sales")
    assert employee.consent_withdrawn_at is not None and not employee.pin_hash
    assert AttendanceEvent.objects.filter(employee_code="E001").count() == 1
    actions = set(AuditEvent.objects.filter(employees__contains=",E001,").values_list("action", flat=True))
    assert {"withdraw_consent", "delete"} <= actions
    # Then HR gives them a PIN and they clock on.
    nonbiometric.employee_set_pin(employee=employee, pin="2468")
    kiosk, _ = pin_kiosk()
    assert nonbiometric.clock_pin(kiosk=kiosk, employee_code="E001", pin="2468").status in ("clocked", "already")


def test_withdrawing_consent_without_a_face_entry_is_a_clear_404(api, bob):
    answer = api.post(WITHDRAW, {"Employeecode": "N001"}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (404, "no_face_entry")


def test_withdrawing_consent_is_all_or_nothing(prepared_faces, monkeypatch):
    factories.entry("E001", "ann", name="Ann Lee")

    def fails(**kwargs):
        raise RuntimeError("the store went away")

    monkeypatch.setattr(entry_services, "entry_delete", fails)
    with pytest.raises(RuntimeError):
        nonbiometric.withdraw_consent(employee_code="E001")
    assert FaceEntry.objects.filter(employee_code="E001").exists()
    assert not NonBiometricEmployee.objects.exists()
    assert not AuditEvent.objects.filter(action="withdraw_consent").exists()


# --- badges -----------------------------------------------------------------------------------------------

def badge_frame(face_photo: bytes, token: str) -> bytes:
    """A kiosk camera frame (640×480 JPEG): a face photo, and the printed badge held up beside the face."""
    canvas = Image.new("RGB", (640, 480), (60, 60, 60))
    face = Image.open(io.BytesIO(face_photo)).convert("RGB")
    face.thumbnail((400, 480))
    canvas.paste(face, (0, 0))
    badge = Image.open(io.BytesIO(badges.png(token, scale=4))).convert("RGB")
    canvas.paste(badge, (640 - badge.width - 10, 480 - badge.height - 10))
    return jpeg(canvas)


@pytest.mark.faces
def test_a_badge_held_to_the_camera_clocks_its_holder(bob, photo):
    kiosk, key = pin_kiosk(allow_badge=True)
    token = nonbiometric.employee_new_badge(employee=bob)
    answer = kiosk_client(key).post(CLOCK, {"Image": io.BytesIO(badge_frame(photo("img1.jpg"), token))},
                                    format="multipart")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "clocked" and "Bob Stone" in answer.json()["message"]
    assert AttendanceEvent.objects.get().method == Method.BADGE


@pytest.mark.faces
def test_a_replaced_badge_no_longer_clocks(bob, photo):
    kiosk, _ = pin_kiosk(allow_badge=True)
    old = nonbiometric.employee_new_badge(employee=bob)
    nonbiometric.employee_new_badge(employee=bob)
    assert nonbiometric.clock_badge(kiosk=kiosk, image=badge_frame(photo("img1.jpg"), old)).status == "unknown"
    assert not AttendanceEvent.objects.exists()


@pytest.mark.faces
def test_a_kiosk_that_does_not_allow_badges_ignores_them(bob, photo):
    kiosk, _ = pin_kiosk(allow_badge=False)
    token = nonbiometric.employee_new_badge(employee=bob)
    assert nonbiometric.clock_badge(kiosk=kiosk, image=badge_frame(photo("img1.jpg"), token)) is None


@pytest.mark.parametrize("image", [b"", b"not an image", jpeg(Image.new("RGB", (1, 1))),
                                   jpeg(Image.new("RGB", (640, 480), (255, 255, 255)))])
def test_a_frame_without_a_badge_reads_as_none(image):
    assert badges.read(image) is None


def test_a_qr_code_that_is_not_a_badge_reads_as_none():
    import segno

    out = io.BytesIO()
    segno.make_qr("https://example.com/").save(out, kind="png", scale=6)
    assert badges.read(out.getvalue()) is None


# --- the admin --------------------------------------------------------------------------------------------

ADMIN = "/admin/attendance/nonbiometricemployee/"


def test_hr_adds_an_employee_with_a_pin_in_the_admin_and_prints_a_badge_once(admin_client):
    answer = admin_client.post(f"{ADMIN}add/", {"employee_code": "N003", "employee_name": "Dee Fox",
                                                "department": "Yard", "pin": "13579"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    employee = NonBiometricEmployee.objects.get(employee_code="N003")
    assert employee.pin_hash and AuditEvent.objects.filter(action="non_biometric").count() == 1
    page = admin_client.post(ADMIN, {"action": "issue_new_badge", "_selected_action": [employee.pk]})
    assert page.status_code == 200 and b"<svg" in page.content and b"Dee Fox" in page.content
    employee.refresh_from_db()
    assert len(employee.badge_sha256) == 64
    assert employee.badge_sha256.encode() not in page.content


def test_hr_sets_a_new_pin_and_unlocks_in_the_admin(admin_client, bob):
    NonBiometricEmployee.objects.filter(pk=bob.pk).update(locked_until=timezone.now() + timedelta(minutes=10))
    answer = admin_client.post(f"{ADMIN}{bob.pk}/change/", {"employee_name": "Bob Stone", "department": "Stores",
                                                            "pin": "8642"})
    assert answer.status_code == 302
    kiosk, _ = pin_kiosk()
    assert nonbiometric.clock_pin(kiosk=kiosk, employee_code="N001", pin="8642").status == "clocked"
    NonBiometricEmployee.objects.filter(pk=bob.pk).update(locked_until=timezone.now() + timedelta(minutes=10))
    admin_client.post(ADMIN, {"action": "unlock", "_selected_action": [bob.pk]})
    bob.refresh_from_db()
    assert bob.locked_until is None


def test_withdraw_consent_is_an_action_of_the_face_entries_admin(admin_client, prepared_faces):
    entry = factories.entry("E001", "ann", photos=2, name="Ann Lee")
    url = "/admin/entries/faceentry/"
    confirm = admin_client.post(url, {"action": "withdraw_consent", "_selected_action": [entry.pk]})
    assert confirm.status_code == 200 and b"Yes, delete their face data" in confirm.content
    assert FaceEntry.objects.exists()
    done = admin_client.post(url, {"action": "withdraw_consent", "_selected_action": [entry.pk], "confirmed": "yes"})
    assert done.status_code == 302
    assert not FaceEntry.objects.exists() and not FacePhoto.objects.exists()
    assert NonBiometricEmployee.objects.get(employee_code="E001").consent_withdrawn_at


def test_the_admin_refuses_to_add_someone_with_a_face_entry(admin_client, prepared_faces):
    factories.entry("E001", "ann", name="Ann Lee")
    answer = admin_client.post(f"{ADMIN}add/", {"employee_code": "E001", "employee_name": "Ann Lee"})
    assert answer.status_code == 200 and b"withdraw their consent first" in answer.content
    assert not NonBiometricEmployee.objects.exists()


def test_hr_renames_an_employee_and_sets_a_pin_through_the_api(api, bob):
    answer = api.patch(f"{EMPLOYEES}N001/", {"Department": "Yard", "pin": "55555"}, format="json")
    assert answer.status_code == 200, answer.content
    bob.refresh_from_db()
    assert bob.department == "Yard"
    kiosk, _ = pin_kiosk()
    assert nonbiometric.clock_pin(kiosk=kiosk, employee_code="N001", pin="55555").status == "clocked"
    operations = [a.details["operation"] for a in AuditEvent.objects.filter(action="non_biometric").order_by("id")]
    assert operations == ["add", "update", "set_pin"]


@pytest.mark.parametrize("body", [{"Employeecode": "N009", "Name": "Cy Dee", "Department": 0},
                                  {"Employeecode": 9, "Name": "Cy Dee"},
                                  {"Employeecode": "N009", "Name": "Cy Dee", "pin": "12a4"},
                                  {"Employeecode": "N009", "Name": "\u000b" + "x" * 200}])
def test_the_api_takes_the_employee_as_its_schema_says_or_refuses_it(api, body):
    """Text is text (no number turned into one), a PIN is digits, a length counts what was sent."""
    answer = api.post(EMPLOYEES, body, format="json")
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid"), answer.content
    assert not NonBiometricEmployee.objects.exists()


def test_an_employees_code_is_read_only_in_a_change(api, bob):
    answer = api.patch(f"{EMPLOYEES}N001/", {"Employeecode": "N777", "Name": "Bob Roe"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["Employeecode"] == "N001"
    assert list(NonBiometricEmployee.objects.values_list("employee_code", "employee_name")) == [("N001", "Bob Roe")]


def test_an_empty_pin_is_no_pin(api):
    answer = api.post(EMPLOYEES, {"Employeecode": "N010", "Name": "Cy Dee", "pin": ""}, format="json")
    assert answer.status_code == 201 and not answer.json()["has_pin"], answer.content
    assert api.patch(f"{EMPLOYEES}N010/", {"pin": "1234"}, format="json").json()["has_pin"]
    assert api.patch(f"{EMPLOYEES}N010/", {"pin": ""}, format="json").json()["has_pin"]  # unchanged


def test_employees_without_a_face_are_sent_as_json(api):
    """A form's values are all text: a list sent as Name would be stored as its text."""
    answer = api.post(EMPLOYEES, {"Employeecode": "N012", "Name": "Cy Dee"}, format="multipart")
    assert (answer.status_code, answer.json()["code"]) == (415, "unsupported_media_type"), answer.content

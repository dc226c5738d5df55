"""HR's review of doubtful clockings: which are flagged, their kept frames, confirming and rejecting them."""

import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from attendance import services
from attendance.models import AttendanceEvent, EventFrame, EventToReview, Method, Review
from audit.models import AuditEvent
from core.audit import Action
from entries import services as entry_services
from entries.models import FaceEntry
from tests import factories
from tests.factories import face_photo

pytestmark = [pytest.mark.django_db(transaction=True)]
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def review_settings(settings, **values):
    settings.ATTENDANCE = {**settings.ATTENDANCE, **values}


def kiosk(name, location=""):
    return services.kiosk_register(name=name, location=location, liveness="off")[0]


def clocking(at_kiosk=None, *, at=T0, code="E001", method=Method.FACE, confidence=0.99, images=(b"frame",),
             reasons=()):
    """A kiosk clocking saved as every kiosk path saves one: through services.record_clocking."""
    event = AttendanceEvent(employee_code=code, employee_name="Ann Lee", department="Sales", at=at,
                            direction="in", kiosk=at_kiosk, kiosk_name=at_kiosk.name if at_kiosk else "",
                            confidence=confidence if method == Method.FACE else None, method=method)
    return services.record_clocking(event, images=images, reasons=reasons)


def user(name, *perms):
    account = User.objects.create_user(name, password="pw", is_staff=True)
    account.user_permissions.set(Permission.objects.filter(
        content_type__app_label__in=["attendance", "entries"], codename__in=perms))
    return account


def reviews():
    """(decision, employees, reason) of the review audit rows; who is the request's user (the admin tests)."""
    return [(a.details["decision"], a.employee_list, a.details.get("reason"))
            for a in AuditEvent.objects.filter(action=Action.REVIEW).order_by("at", "id")]


# --- the rules ---------------------------------------------------------------------------------------

def test_a_kiosk_face_clocking_below_the_review_confidence_is_flagged_and_keeps_its_frame(settings, prepared_faces):
    door = kiosk("Front door")
    factories.entry("E001", "ann", name="Ann Lee", department="Sales")
    review_settings(settings, REVIEW_CONFIDENCE=1.01)  # any match is below it
    services.clock(kiosk=door, image=face_photo("ann", 1))
    result = services.clock(kiosk=door, image=face_photo("ann", 2))
    event = AttendanceEvent.objects.get()
    assert result.status == "clocked" and (event.review, event.review_reasons) == (Review.PENDING, "low_confidence")
    assert [bytes(f.image) for f in event.frames.all()] == [face_photo("ann", 2)]
    assert event.frames.get().keep_until == event.at + timedelta(days=7)
    assert list(EventToReview.objects.all()) == [event]


def test_a_confident_face_clocking_is_not_flagged(settings):
    assert clocking(kiosk("Front door"), confidence=0.95).review == Review.NONE
    assert clocking(kiosk("Back door"), confidence=0.89, code="E002").review_reasons == "low_confidence"
    assert EventFrame.objects.count() == 1  # only the flagged event keeps its frame
    assert not EventToReview.objects.filter(employee_code="E001").exists()


def test_pin_and_badge_clockings_are_flagged_unless_the_setting_is_off(settings):
    door = kiosk("Front door")
    assert clocking(door, method=Method.PIN, images=()).review_reasons == "non_biometric"
    assert clocking(door, method=Method.BADGE, code="E002", images=()).review_reasons == "non_biometric"
    review_settings(settings, REVIEW_NON_BIOMETRIC=False)
    assert clocking(door, method=Method.PIN, code="E003", images=()).review == Review.NONE


def test_an_employee_clocked_at_another_location_within_the_travel_time_is_flagged():
    paris, paris_too = kiosk("Paris 1", "Paris office"), kiosk("Paris 2", "Paris office")
    lyon, unnamed = kiosk("Lyon", "Lyon plant"), kiosk("Van")
    clocking(paris)
    assert clocking(lyon, at=T0 + timedelta(minutes=29)).review_reasons == "two_locations"
    assert clocking(lyon, at=T0 + timedelta(minutes=20), code="E002").review == Review.NONE  # someone else
    clocking(paris, code="E003")
    assert clocking(paris_too, code="E003", at=T0 + timedelta(minutes=5)).review == Review.NONE  # same location
    assert clocking(unnamed, code="E003", at=T0 + timedelta(minutes=6)).review == Review.NONE  # no location
    clocking(paris, code="E004")
    assert clocking(lyon, code="E004", at=T0 + timedelta(minutes=31)).review == Review.NONE  # time to travel


def test_the_callers_reasons_and_the_rules_are_kept_together_once():
    event = clocking(kiosk("Front door"), confidence=0.5, reasons=["liveness_failed", "low_confidence"])
    assert event.review_reasons == "liveness_failed,low_confidence"


# --- deciding ----------------------------------------------------------------------------------------

def test_confirming_keeps_the_event_drops_its_frames_and_is_audited():
    hr = user("hr", "view_attendanceevent", "change_attendanceevent")
    event = clocking(kiosk("Front door"), confidence=0.5)
    services.review_confirm(event=event, by=hr)
    event.refresh_from_db()
    assert (event.review, event.reviewed_by, event.reviewed_at is not None) == (Review.CONFIRMED, hr, True)
    assert not EventFrame.objects.exists() and not EventToReview.objects.exists()
    assert reviews() == [("confirm", "E001", None)]


def test_rejecting_needs_a_reason_then_deletes_the_event_and_is_audited():
    hr = user("hr", "view_attendanceevent", "change_attendanceevent")
    event = clocking(kiosk("Front door"), confidence=0.5)
    for reason in ["", "   ", "x" * 301]:
        with pytest.raises(services.ReasonRequired):
            services.review_reject(event=event, reason=reason, by=hr)
    assert AttendanceEvent.objects.filter(review=Review.PENDING).count() == 1 and reviews() == []
    services.review_reject(event=event, reason="Not Ann: her colleague", by=hr)
    assert not AttendanceEvent.objects.exists() and not EventFrame.objects.exists()
    assert reviews() == [("reject", "E001", "Not Ann: her colleague")]
    assert AuditEvent.objects.get(action=Action.REVIEW).details["reasons"] == "low_confidence"


def test_only_a_pending_event_can_be_confirmed_or_rejected():
    hr = user("hr", "view_attendanceevent", "change_attendanceevent")
    plain, flagged = clocking(kiosk("Front door")), clocking(kiosk("Back door"), code="E002", confidence=0.5)
    services.review_confirm(event=flagged, by=hr)
    for event in (plain, flagged):
        with pytest.raises(services.NotPending) as refused:
            services.review_confirm(event=event, by=hr)
        assert refused.value.status == 409
        with pytest.raises(services.NotPending):
            services.review_reject(event=event, reason="wrong", by=hr)
    assert AttendanceEvent.objects.count() == 2 and len(reviews()) == 1


def test_two_reviewers_deciding_at_once_make_one_decision(live_server):
    event = clocking(kiosk("Front door"), confidence=0.5)
    sessions = []
    for name in ("hr1", "hr2"):
        token = Token.objects.create(user=user(name, "view_attendanceevent", "change_attendanceevent"))
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token.key}"
        sessions.append(session)
    url = f"{live_server.url}/api/attendance/events/{event.pk}/"
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def decide(session, path, body):
        barrier.wait()
        answers.append(session.post(url + path, json=body, timeout=30).status_code)

    threads = [threading.Thread(target=decide, args=(sessions[0], "confirm/", {})),
               threading.Thread(target=decide, args=(sessions[1], "reject/", {"reason": "not her"}))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One decides; the other is refused: 409 not_pending if the event was confirmed, 404 if it was rejected (gone).
    assert sorted(answers) in ([200, 409], [204, 404], [204, 409])
    assert len(reviews()) == 1
    decision = reviews()[0][0]
    assert AttendanceEvent.objects.filter(review=Review.CONFIRMED).count() == (decision == "confirm")


# --- the frames' days ----------------------------------------------------------------------------------

def test_review_frames_are_purged_after_their_days_and_the_review_stays(settings):
    review_settings(settings, REVIEW_FRAME_DAYS=2)
    old = clocking(kiosk("Front door"), at=timezone.now() - timedelta(days=3), confidence=0.5)
    recent = clocking(kiosk("Back door"), at=timezone.now() - timedelta(days=1), code="E002", confidence=0.5)
    out = io.StringIO()
    call_command("purge_snapshots", stdout=out)
    assert "1 review frame(s) dropped" in out.getvalue()
    assert list(EventFrame.objects.values_list("event", flat=True)) == [recent.pk]
    old.refresh_from_db()
    assert old.review == Review.PENDING


def test_deleting_the_face_entry_drops_the_employees_review_frames(prepared_faces):
    factories.entry("E001", "ann", name="Ann Lee", department="Sales")
    clocking(kiosk("Front door"), confidence=0.5)
    bob = clocking(kiosk("Back door"), code="E002", confidence=0.5)
    entry_services.entry_delete(entry=FaceEntry.objects.get(employee_code="E001"))
    assert list(EventFrame.objects.values_list("event", flat=True)) == [bob.pk]
    assert AttendanceEvent.objects.filter(employee_code="E001", review=Review.PENDING).exists()  # HR still decides


# --- the API ---------------------------------------------------------------------------------------------

def test_the_events_api_shows_the_review_filters_it_and_decides_with_the_change_permission():
    clocking(kiosk("Front door"))
    flagged = clocking(kiosk("Back door"), code="E002", method=Method.PIN, images=())
    reader, hr = APIClient(), APIClient()
    reader.force_authenticate(user("reader", "view_attendanceevent"))
    hr.force_authenticate(user("hr", "view_attendanceevent", "change_attendanceevent"))
    pending = reader.get("/api/attendance/events/?review=pending").json()
    assert [(e["Employeecode"], e["method"], e["review"], e["review_reasons"]) for e in pending["results"]] == [
        ("E002", "pin", "pending", ["non_biometric"])]
    assert reader.get("/api/attendance/events/?review=none").json()["count"] == 1
    assert reader.get("/api/attendance/events/?review=nonsense").status_code == 400
    url = f"/api/attendance/events/{flagged.pk}/"
    assert reader.post(url + "confirm/").status_code == 403
    assert reader.post(url + "reject/", {"reason": "lent badge"}).status_code == 403
    no_reason = hr.post(url + "reject/", {})
    assert (no_reason.status_code, no_reason.json()["code"]) == (400, "reason_required")
    confirmed = hr.post(url + "confirm/")
    assert confirmed.status_code == 200 and confirmed.json()["review"] == "confirmed"
    again = hr.post(url + "reject/", {"reason": "lent badge"})
    assert (again.status_code, again.json()["code"]) == (409, "not_pending")
    assert hr.post("/api/attendance/events/0123456789abcdef01234567/confirm/").status_code in (400, 404)


# --- the admin -------------------------------------------------------------------------------------------

def test_hr_reviews_a_flagged_clocking_beside_the_enrolled_photo_and_each_showing_is_audited(client, prepared_faces):
    entry = factories.entry("E001", "ann", name="Ann Lee", department="Sales")
    event = clocking(kiosk("Front door"), confidence=0.5, images=[face_photo("ann", 3)])
    client.force_login(user("hr", "view_attendanceevent", "change_attendanceevent", "view_faceentry"))
    listing = client.get("/admin/attendance/eventtoreview/").content.decode()
    assert "Ann Lee" in listing and "low match confidence" in listing
    page = client.get(f"/admin/attendance/eventtoreview/{event.pk}/change/").content.decode()
    assert page.count('class="review-frame"') == 1 and f"/admin/entries/faceentry/{entry.pk}/photo/" in page
    viewed = AuditEvent.objects.filter(action=Action.VIEW_SNAPSHOT)
    assert [(a.employee_list, a.details["review_frames"]) for a in viewed] == [("E001", 1)]
    client.get(f"/admin/attendance/eventtoreview/{event.pk}/change/")
    assert viewed.all().count() == 2  # again at each showing

    refused = client.post(f"/admin/attendance/eventtoreview/{event.pk}/change/", {"reject": "1", "reason": ""})
    assert refused.status_code == 200 and AttendanceEvent.objects.filter(pk=event.pk).exists()
    done = client.post(f"/admin/attendance/eventtoreview/{event.pk}/change/", {"confirm": "1"})
    assert done.status_code == 302 and AttendanceEvent.objects.get(pk=event.pk).review == Review.CONFIRMED
    assert [(a.details["decision"], a.actor_name) for a in AuditEvent.objects.filter(action=Action.REVIEW)] == [
        ("confirm", "hr")]
    assert client.get(f"/admin/attendance/eventtoreview/{event.pk}/change/").status_code == 302  # left the list


def test_without_the_face_entries_permission_the_review_shows_no_face_and_a_viewer_cannot_decide(client):
    event = clocking(kiosk("Front door"), confidence=0.5)
    client.force_login(user("hr", "view_attendanceevent", "change_attendanceevent"))
    page = client.get(f"/admin/attendance/eventtoreview/{event.pk}/change/").content.decode()
    assert "review-frame" not in page and "needs the permission to view employees" in page
    assert not AuditEvent.objects.filter(action=Action.VIEW_SNAPSHOT).exists()
    client.force_login(user("reader", "view_attendanceevent", "view_faceentry"))
    page = client.get(f"/admin/attendance/eventtoreview/{event.pk}/change/").content.decode()
    assert "review-frame" in page and 'name="confirm"' not in page
    assert client.post(f"/admin/attendance/eventtoreview/{event.pk}/change/", {"confirm": "1"}).status_code == 403
    client.force_login(user("nobody"))
    assert client.get("/admin/attendance/eventtoreview/").status_code == 403
    assert AttendanceEvent.objects.get().review == Review.PENDING


def test_hr_rejects_a_flagged_clocking_in_the_admin_with_a_reason(client):
    event = clocking(kiosk("Front door"), method=Method.BADGE, images=())
    client.force_login(user("hr", "view_attendanceevent", "change_attendanceevent"))
    done = client.post(f"/admin/attendance/eventtoreview/{event.pk}/change/",
                       {"reject": "1", "reason": "a lent badge"})
    assert done.status_code == 302 and not AttendanceEvent.objects.exists()
    assert reviews() == [("reject", "E001", "a lent badge")]
    assert AuditEvent.objects.get(action=Action.REVIEW).actor_name == "hr"


def test_the_event_list_shows_and_filters_the_method_and_the_review(client):
    clocking(kiosk("Front door"))
    flagged = clocking(kiosk("Back door"), code="E002", method=Method.PIN, images=())
    client.force_login(user("hr", "view_attendanceevent", "change_attendanceevent"))
    page = client.get("/admin/attendance/attendanceevent/?review=pending").content.decode()
    assert "E002" in page and "E001" not in page and "PIN or badge (no face)" in page
    assert "E001" in client.get("/admin/attendance/attendanceevent/?method=face").content.decode()
    record = client.get(f"/admin/attendance/attendanceevent/{flagged.pk}/change/").content.decode()
    assert "to review" in record and "PIN or badge (no face)" in record

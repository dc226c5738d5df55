"""Self-improving templates: a confident kiosk clocking teaches the employee's face, within guards HR can see."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from attendance import learning, services
from attendance.models import AttendanceEvent, EventFrame, Method
from audit.models import AuditEvent
from core.audit import Action
from entries import identification
from entries import services as entry_services
from entries.exceptions import DuplicateFace, NotLearned, TooManyPhotos
from entries.models import FaceEntry, FacePhoto, PhotoSource
from jobs.models import Job, JobItem
from jobs.services import job_run_here
from tests import factories
from tests.factories import face_photo

pytestmark = [pytest.mark.django_db]
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ANYTIME = entry_services.LearnRules(every=timedelta(0))  # no daily limit: for the guards' own tests


@pytest.fixture
def door(settings):
    settings.ATTENDANCE = {**settings.ATTENDANCE, "CONFIRM_FRAMES": 1}
    return services.kiosk_register(name="Front door", liveness="off")[0]


def run_learning() -> list[JobItem]:
    """Run the queued learn_template jobs here, as a worker would; their items say what each did."""
    for job in Job.objects.filter(kind="learn_template").exclude(status=Job.Status.FINISHED):
        job_run_here(job)
    return list(JobItem.objects.filter(job__kind="learn_template").order_by("pk"))


def learned(code="E001") -> list[FacePhoto]:
    return list(FacePhoto.objects.filter(entry__employee_code=code, source=PhotoSource.KIOSK).order_by("pk"))


def towards(anchor: np.ndarray, other: np.ndarray, cosine: float) -> np.ndarray:
    """A unit vector at `cosine` from anchor, turned towards other (an unrelated face)."""
    away = other - (other @ anchor) * anchor
    away /= np.linalg.norm(away)
    return (cosine * anchor + np.sqrt(1 - cosine**2) * away).astype(np.float32)


def timezone_now() -> datetime:
    """Now: a template's date is the wall clock's, so clockings that count days against it are dated from it."""
    return timezone.now().replace(microsecond=0)


def frame(person: str, number: int, embedding: np.ndarray | None = None):
    face = factories.face(person, number)
    return face if embedding is None else replace(face, embedding=embedding)


# --- from the kiosk --------------------------------------------------------------------------------

def test_a_confident_clocking_teaches_a_template_in_a_job_and_its_frame_goes(door, prepared_faces):
    factories.entry("E001", "ann")
    result = services.clock(kiosk=door, image=face_photo("ann", 1), now=T0)
    assert result.status == "clocked" and result.event.confidence >= 0.995
    assert learned() == [] and EventFrame.objects.filter(event=result.event).count() == 1  # not in the request
    (item,) = run_learning()
    (photo,) = learned()
    assert item.status == JobItem.Status.DONE
    assert (photo.learned_from, photo.kiosk_name) == (str(result.event.pk), "Front door")
    assert bytes(photo.image) == face_photo("ann", 1)
    assert not EventFrame.objects.exists()
    audit = AuditEvent.objects.get(action=Action.ADD_PHOTO, details__source="kiosk")
    assert audit.employee_list == "E001" and audit.details["event"] == str(result.event.pk)


def test_a_doubtful_clocking_teaches_nothing(door, prepared_faces, settings):
    factories.entry("E001", "ann")
    settings.ATTENDANCE = {**settings.ATTENDANCE, "REVIEW_CONFIDENCE": 1.01}  # flagged for review
    services.clock(kiosk=door, image=face_photo("ann", 1), now=T0)
    assert AttendanceEvent.objects.get().review == "pending"
    assert run_learning() == [] and learned() == []


def test_a_clocking_under_the_learning_bar_teaches_nothing_though_it_stands(door, prepared_faces, settings):
    factories.entry("E001", "ann")
    settings.ATTENDANCE = {**settings.ATTENDANCE, "LEARN_CONFIDENCE": 1.01}
    services.clock(kiosk=door, image=face_photo("ann", 1), now=T0)
    assert AttendanceEvent.objects.get().review == ""
    assert run_learning() == [] and learned() == [] and not EventFrame.objects.exists()


def test_only_a_passed_challenge_teaches_when_liveness_is_required(settings):
    settings.ATTENDANCE = {**settings.ATTENDANCE, "LEARN_REQUIRE_LIVENESS": True}
    event = AttendanceEvent(employee_code="E001", at=T0, direction="in", confidence=1.0, method=Method.FACE)
    assert not learning.worth_learning(event)
    event.method, event.liveness = Method.FACE_LIVENESS, 0.0
    assert not learning.worth_learning(event)
    event.liveness = 1.0
    assert learning.worth_learning(event)
    event.review = "pending"
    assert not learning.worth_learning(event)


def test_one_template_a_day_the_second_clocking_queues_nothing(door, prepared_faces):
    factories.entry("E001", "ann")
    services.clock(kiosk=door, image=face_photo("ann", 1), now=timezone_now())
    run_learning()
    services.clock(kiosk=door, image=face_photo("ann", 2), now=timezone_now() + timedelta(hours=3))
    assert len(run_learning()) == 1 and len(learned()) == 1
    second = frame("ann", 3)
    with pytest.raises(NotLearned) as refused:  # the service's own check, under the write lock
        entry_services.photo_learn(employee_code="E001", image=second.image, face=second, event="x", kiosk="k",
                                   rules=learning.rules())
    assert refused.value.details["reason"] == "learned_recently"


def test_a_clocking_hr_deleted_before_its_job_ran_teaches_nothing(door, prepared_faces):
    factories.entry("E001", "ann")
    event = services.clock(kiosk=door, image=face_photo("ann", 1), now=T0).event
    services.event_delete(event=event, reason="not Ann: her sister", by=None)
    (item,) = run_learning()
    assert (item.status, item.code) == (JobItem.Status.FAILED, "not_learned") and learned() == []


# --- the guards against poisoning ----------------------------------------------------------------

def test_a_frame_far_from_the_enrolment_photo_is_refused_even_if_it_matches_a_learned_template(prepared_faces):
    """No chain of frames can walk an employee's templates towards someone else: the anchor is HR's photo."""
    ann = factories.entry("E001", "ann")
    anchor, bob = factories.embedding("ann"), factories.embedding("bob")
    step = frame("ann", 1, towards(anchor, bob, 0.75))
    entry_services.photo_learn(employee_code="E001", image=step.image, face=step, event="1", kiosk="k", rules=ANYTIME)
    further = frame("ann", 2, towards(anchor, bob, 0.45))
    assert float(further.embedding @ step.embedding) > 0.9  # identify would take it for Ann, by the first step
    with pytest.raises(NotLearned) as refused:
        entry_services.photo_learn(employee_code="E001", image=further.image, face=further, event="2", kiosk="k",
                                   rules=ANYTIME)
    assert refused.value.details["reason"] == "far_from_enrolment"
    assert ann.photos.count() == 1


def test_a_frame_like_another_employee_is_refused(prepared_faces):
    factories.entry("E001", "ann")
    factories.entry("E002", "bob")
    """Close enough to Ann's enrolment photo (0.7), but as close to Bob's: the duplicate-face guard refuses it."""
    lookalike = frame("ann", 1, towards(factories.embedding("ann"), factories.embedding("bob"), 0.7))
    with pytest.raises(DuplicateFace):
        entry_services.photo_learn(employee_code="E001", image=lookalike.image, face=lookalike, event="1",
                                   kiosk="k", rules=ANYTIME)
    assert learned() == []



def test_a_frame_that_only_resembles_another_employee_teaches_nothing_and_flags_no_one(prepared_faces):
    """A possible duplicate registers an HR photo with a warning; a template must be beyond doubt, so it is refused."""
    from entries.models import PossibleDuplicate
    from entries.recognition import calibration

    factories.entry("E001", "ann")
    factories.entry("E002", "bob")
    model, count = identification.index().model_name, identification.index().photo_count()
    between = (calibration.identify_threshold(model, count) + calibration.duplicate_threshold(model, count)) / 2
    ann, bob = factories.embedding("ann").astype(np.float64), factories.embedding("bob").astype(np.float64)
    across = bob - (bob @ ann) * ann
    across /= np.linalg.norm(across)
    rest = np.random.default_rng(0).standard_normal(ann.shape)
    rest -= (rest @ ann) * ann + (rest @ across) * across
    x = 0.8  # Ann beyond doubt
    y = (between - x * (ann @ bob)) / (bob @ across)
    vector = (x * ann + y * across + np.sqrt(1 - x * x - y * y) * rest / np.linalg.norm(rest)).astype(np.float32)
    lookalike = frame("ann", 1, vector)
    with pytest.raises(NotLearned) as refused:
        entry_services.photo_learn(employee_code="E001", image=lookalike.image, face=lookalike, event="1",
                                   kiosk="k", rules=ANYTIME)
    assert refused.value.details["reason"] == "resembles_another"
    assert learned() == [] and not PossibleDuplicate.objects.exists()


def test_a_near_copy_of_a_photo_the_employee_has_is_skipped(prepared_faces):
    factories.entry("E001", "ann")
    copy = frame("ann", 7, factories.embedding("ann"))
    with pytest.raises(NotLearned) as refused:
        entry_services.photo_learn(employee_code="E001", image=copy.image, face=copy, event="1", kiosk="k",
                                   rules=ANYTIME)
    assert refused.value.details["reason"] == "near_duplicate"


def test_the_cap_replaces_the_oldest_kiosk_template_and_never_an_hr_photo(prepared_faces):
    ann = factories.entry("E001", "ann", photos=2)  # the enrolment photo and one more from HR
    hr_photo = ann.photos.get()
    rules = replace(ANYTIME, cap=2)
    for number in (3, 4, 5):
        face = frame("ann", number)
        entry_services.photo_learn(employee_code="E001", image=face.image, face=face, event=str(number), kiosk="k",
                                   rules=rules)
    assert [p.learned_from for p in learned()] == ["4", "5"]
    assert list(ann.photos.filter(source=PhotoSource.HR)) == [hr_photo]
    assert AuditEvent.objects.filter(action=Action.ADD_PHOTO, details__source="kiosk").count() == 3


# --- HR sees and removes them --------------------------------------------------------------------


def test_an_hr_photo_past_the_limit_replaces_the_oldest_kiosk_template(prepared_faces, settings):
    settings.FACEREC = {**settings.FACEREC, "MAX_PHOTOS_PER_ENTRY": 3}
    ann = factories.entry("E001", "ann")
    for number in (3, 4):
        face = frame("ann", number)
        entry_services.photo_learn(employee_code="E001", image=face.image, face=face, event=str(number), kiosk="k",
                                   rules=ANYTIME)
    hr = frame("ann", 5)
    entry_services.photo_add(entry=ann, image=hr.image, face=hr)
    assert [p.learned_from for p in learned()] == ["4"]
    assert ann.photos.filter(source=PhotoSource.HR).count() == 1
    assert AuditEvent.objects.filter(action=Action.REMOVE_PHOTO, details__source="kiosk").count() == 1
    more = frame("ann", 6)
    entry_services.photo_add(entry=ann, image=more.image, face=more)  # the last template makes room too
    assert learned() == [] and ann.photos.count() == 2
    with pytest.raises(TooManyPhotos):  # HR's own photos are never replaced
        last = frame("ann", 7)
        entry_services.photo_add(entry=ann, image=last.image, face=last)

def test_hr_sees_a_learned_template_in_the_entry_and_removes_it(admin_client, prepared_faces):
    ann = factories.entry("E001", "ann")
    face = frame("ann", 1)
    photo = entry_services.photo_learn(employee_code="E001", image=face.image, face=face, event="42",
                                       kiosk="Front door", rules=ANYTIME)
    page = admin_client.get(f"/admin/entries/faceentry/{ann.pk}/change/").content.decode()
    assert "learned at kiosk Front door (clocking 42)" in page
    response = admin_client.post(f"/admin/entries/faceentry/{ann.pk}/change/", {
        "employee_code": "E001", "name": ann.name, "gender": ann.gender, "department": "",
        "consent_reference": ann.consent_reference, "photos-TOTAL_FORMS": 1, "photos-INITIAL_FORMS": 1,
        "photos-0-id": photo.pk, "photos-0-entry": ann.pk, "photos-0-DELETE": "on"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert learned() == []
    removal = AuditEvent.objects.get(action=Action.REMOVE_PHOTO)
    assert removal.details["source"] == "kiosk" and removal.employee_list == "E001"


def test_deleting_the_entry_takes_its_learned_templates_and_waiting_frames(door, prepared_faces):
    ann = factories.entry("E001", "ann")
    services.clock(kiosk=door, image=face_photo("ann", 1), now=timezone_now())
    run_learning()
    services.clock(kiosk=door, image=face_photo("ann", 2), now=timezone_now() + timedelta(days=2))  # job waits
    assert len(learned()) == 1 and EventFrame.objects.count() == 1
    entry_services.entry_delete(entry=FaceEntry.objects.get(pk=ann.pk))
    assert not FacePhoto.objects.exists() and not EventFrame.objects.exists()
    assert run_learning()[-1].status == JobItem.Status.FAILED


# --- what it is for (real faces) -----------------------------------------------------------------

@pytest.mark.faces
def test_an_employee_is_found_by_a_learned_template_where_the_single_enrolment_photo_failed(photo, settings):
    """person02 of ../shared/faces: img3 is too far from the enrolment photo img12 (similarity 0.517) but close to
    img55 (0.818), a kiosk frame that matched img12 at 0.611. At the shipped thresholds every photo of the set is
    found from any one enrolment photo, so this site pins a stricter identify threshold (0.55) to show it."""
    settings.FACEREC = {**settings.FACEREC, "IDENTIFY_THRESHOLD": 0.55}
    settings.ATTENDANCE = {**settings.ATTENDANCE, "CONFIRM_FRAMES": 1}
    door = services.kiosk_register(name="Front door", liveness="off")[0]
    factories.register(photo, "E002", "img12.jpg", name="Person Two")
    assert identification.identify(image=photo("img3.jpg")).faces[0].decision == "unknown"
    clocked = services.clock(kiosk=door, image=photo("img55.jpg"), now=T0)
    assert clocked.status == "clocked" and clocked.event.confidence >= 0.995
    assert run_learning()[0].status == JobItem.Status.DONE
    assert identification.identify(image=photo("img3.jpg")).faces[0].decision == "E002"
    entry_services.photo_remove(photo=FacePhoto.objects.get(source=PhotoSource.KIOSK))  # HR removes it
    assert identification.identify(image=photo("img3.jpg")).faces[0].decision == "unknown"

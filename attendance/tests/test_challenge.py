"""The liveness challenge's protocol: a known face is asked to move; the answer counts once, fresh, in time.

Whether the frames move as a live head does is attendance.liveness's decision (tests/test_liveness.py, on
real faces); here it is replaced, so that these tests run without the engine, on prepared faces.
"""

import io
import threading
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from rest_framework.test import APIClient

from attendance import liveness, services
from attendance.models import AttendanceEvent, Challenge, EventFrame
from audit.models import AuditEvent
from tests import factories
from tests.factories import face_photo

pytestmark = [pytest.mark.django_db(transaction=True)]
CLOCK, ANSWER = "/api/attendance/clock/", "/api/attendance/clock/challenge/"


@pytest.fixture
def ann(prepared_faces):
    return factories.entry("E001", "ann", name="Ann Lee", department="Sales")


@pytest.fixture
def verdict(monkeypatch):
    """The liveness decision these tests dictate (passed unless set otherwise)."""
    decided = {"verdict": liveness.Verdict(True, "passed", "", {})}
    monkeypatch.setattr(liveness, "measure", lambda image, t: liveness.FrameMeasure(t=t, box=(0, 0, 1, 1),
                                                                                  points=None))
    monkeypatch.setattr(liveness, "decide", lambda measures, steps: decided["verdict"])
    return decided


def client_for(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Kiosk {key}")
    return client


def challenged(client, first=1):
    """Two captures of Ann: the kiosk answers with a challenge."""
    client.post(CLOCK, {"Image": io.BytesIO(face_photo("ann", first))}, format="multipart")
    response = client.post(CLOCK, {"Image": io.BytesIO(face_photo("ann", first + 1))}, format="multipart")
    assert response.status_code == 200, response.json()
    return response.json()


def answer(client, nonce, photos, person="ann"):
    frames = [io.BytesIO(face_photo(person, n)) if isinstance(n, int) else io.BytesIO(n) for n in photos]
    return client.post(ANSWER, {"nonce": nonce, "frames": frames, "times": [0.3 * i for i in range(len(frames))]},
                       format="multipart")


@pytest.fixture
def door():
    return services.kiosk_register(name="Front door", location="Building A", liveness="challenge")


def test_a_known_face_is_asked_a_random_challenge_and_nobody_is_clocked_yet(door, ann, verdict):
    body = challenged(client_for(door[1]))
    assert body["status"] == "challenge" and body["event"] is None and "Ann" not in str(body)
    steps = body["challenge"]["steps"]
    assert len(steps) == 2 and len(set(steps)) == 2 and set(steps) <= set(liveness.STEPS)
    assert not AttendanceEvent.objects.exists()
    assert len({tuple(services.challenge_steps()) for _ in range(60)}) == 6  # every order of 2 of 3 steps


def test_an_answer_that_moves_as_asked_clocks_by_face_and_liveness(door, ann, verdict):
    client = client_for(door[1])
    body = answer(client, challenged(client)["challenge"]["nonce"], range(3, 9)).json()
    assert body["status"] == "clocked" and body["message"].startswith("Good ") and "Ann Lee" in body["message"]
    event = AttendanceEvent.objects.get()
    assert (event.method, event.liveness, event.review) == ("face_liveness", 1.0, "")
    # no doubt: no frame is kept for a review; its first frame waits for the job that learns from it
    assert list(EventFrame.objects.values_list("image", flat=True)) == [face_photo("ann", 3)]
    clock = AuditEvent.objects.get(action="clock")
    assert clock.details["frames"] == 6 and clock.details["method"] == "face_liveness"


def test_a_failed_challenge_is_refused_with_what_to_do_and_audited(door, ann, verdict):
    verdict["verdict"] = liveness.Verdict(False, "flat", "Turn your head, not the picture",
                                          {"frames": 6.0, "parallax": 0.01})
    client = client_for(door[1])
    body = answer(client, challenged(client)["challenge"]["nonce"], range(3, 9)).json()
    assert body == {"status": "liveness_failed", "message": "Turn your head, not the picture", "event": None}
    assert not AttendanceEvent.objects.exists()
    refused = AuditEvent.objects.get(action="liveness")
    assert (refused.employee_list, refused.details["verdict"], refused.details["frames"]) == ("E001", "flat", 6)
    assert refused.details["measured"]["parallax"] == 0.01


def test_a_kiosk_that_flags_clocks_a_failed_challenge_for_review_with_its_frames(ann, verdict):
    _, key = services.kiosk_register(name="Side door", liveness="challenge", liveness_failure="flag")
    verdict["verdict"] = liveness.Verdict(False, "not_done", "Turn further", {})
    client = client_for(key)
    assert answer(client, challenged(client)["challenge"]["nonce"], range(3, 16)).json()["status"] == "clocked"
    event = AttendanceEvent.objects.get()
    assert (event.liveness, event.review, event.review_reasons) == (0.0, "pending", "liveness_failed")
    assert EventFrame.objects.filter(event=event).count() == services.REVIEW_FRAMES  # of 13, evenly spread


def test_a_challenge_counts_once(door, ann, verdict):
    client = client_for(door[1])
    nonce = challenged(client)["challenge"]["nonce"]
    assert answer(client, nonce, range(3, 6)).status_code == 200
    again = answer(client, nonce, range(6, 9))
    assert again.status_code == 409 and again.json()["code"] == "challenge_refused"
    assert AttendanceEvent.objects.count() == 1


def test_frames_sent_before_are_refused_even_for_a_new_challenge(door, ann, verdict):
    client = client_for(door[1])
    assert answer(client, challenged(client)["challenge"]["nonce"], range(3, 6)).status_code == 200
    AttendanceEvent.objects.all().delete()  # not debounced: the replay alone must fail
    replay = answer(client, challenged(client, first=10)["challenge"]["nonce"], range(3, 6))
    assert replay.status_code == 409 and replay.json()["details"]["reason"] == "replayed_frame"
    repeated = answer(client, challenged(client, first=12)["challenge"]["nonce"], [14, 14, 15])
    assert repeated.status_code == 409 and repeated.json()["details"]["reason"] == "repeated_frame"
    assert not AttendanceEvent.objects.exists()


def test_a_late_answer_or_another_kiosks_challenge_is_refused(door, ann, verdict):
    client = client_for(door[1])
    nonce = challenged(client)["challenge"]["nonce"]
    other = client_for(services.kiosk_register(name="Back door", liveness="challenge")[1])
    assert answer(other, nonce, range(3, 6)).json()["details"]["reason"] == "unknown_nonce"
    Challenge.objects.update(deadline=timezone.now() - timedelta(seconds=1))
    late = answer(client, nonce, range(3, 6))
    assert late.status_code == 409 and late.json()["details"]["reason"] == "late"


def test_a_nonce_that_is_not_one_the_kiosk_was_given_is_unknown(door, ann, verdict):
    """A nonce is compared as sent: one of control characters is no nonce, not a malformed request."""
    client = client_for(door[1])
    challenged(client)
    refused = answer(client, "\u001c", range(3, 6))
    assert (refused.status_code, refused.json()["details"]["reason"]) == (409, "unknown_nonce")
    assert not AttendanceEvent.objects.exists()

def test_frame_times_must_rise_within_the_challenge(door, ann, verdict):
    client = client_for(door[1])
    nonce = challenged(client)["challenge"]["nonce"]
    frames = [io.BytesIO(face_photo("ann", n)) for n in (3, 4, 5)]
    response = client.post(ANSWER, {"nonce": nonce, "frames": frames, "times": [0, 2, 1]}, format="multipart")
    assert response.status_code == 409 and response.json()["details"]["reason"] == "times"
    missing = client.post(ANSWER, {"nonce": nonce}, format="multipart")
    assert missing.status_code == 400


def test_an_answer_showing_two_people_clocks_nobody(door, ann, verdict):
    factories.entry("E002", "bob", name="Bob Ray")
    client = client_for(door[1])
    nonce = challenged(client)["challenge"]["nonce"]
    photos = [face_photo("ann", 3), face_photo("bob", 1), face_photo("ann", 4)]
    assert answer(client, nonce, photos).json()["status"] == "unknown"
    assert not AttendanceEvent.objects.exists()
    assert [a.details["ended"] for a in AuditEvent.objects.filter(action="kiosk_frames").order_by("at", "id")] == \
        ["challenge", "different_faces"]


def test_two_answers_to_one_challenge_sent_at_once_clock_once(live_server, door, ann, verdict):
    nonce = challenged(client_for(door[1]))["challenge"]["nonce"]
    results, barrier = [], threading.Barrier(2)

    def send(first):
        frames = [("frames", (f"{n}.jpg", face_photo("ann", n), "image/jpeg")) for n in range(first, first + 3)]
        barrier.wait()
        results.append(requests.post(live_server.url + ANSWER, files=frames,
                                     data={"nonce": nonce, "times": [0, 0.3, 0.6]},
                                     headers={"Authorization": f"Kiosk {door[1]}"}, timeout=60).status_code)

    threads = [threading.Thread(target=send, args=(first,)) for first in (3, 7)]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    assert sorted(results) == [200, 409] and AttendanceEvent.objects.count() == 1


# --- identified together, on real faces ----------------------------------------------------------

def _photos_by_person(faces_dir):
    import csv

    people: dict[str, list[bytes]] = {}
    with open(faces_dir / "identities.csv", newline="") as rows:
        for row in csv.DictReader(rows):
            people.setdefault(row["person"], []).append((faces_dir / row["image"]).read_bytes())
    return people


@pytest.mark.faces
def test_an_answers_frames_identify_their_employee_together_and_a_stand_in_is_refused(door, faces_dir, verdict):
    """With identify's threshold between the weakest frame's score and that of the frames' mean embedding, the
    answer clocks (each frame alone would not have); a frame of someone else in the middle is refused."""
    import numpy as np
    from django.test import override_settings

    from entries import services as entry_services
    from entries.recognition import faces, vectors

    people = _photos_by_person(faces_dir)
    for number, person in enumerate(["person01", "person02", "person03", "person10"], start=1):
        entry_services.entry_register(employee_code=f"E{number:03}", name=person, image=people[person][0],
                                      consent_reference="F-1", allow_duplicate_face=True)
    template = faces.analyse(people["person01"][0]).embedding
    frames = people["person01"][1:4]
    embedded = [faces.find(frame, limit=1)[1][0].embedding for frame in frames]
    weakest = min(float(template @ e) for e in embedded)
    together = float(template @ vectors.normalise(np.mean(embedded, axis=0)))
    assert together > weakest + 0.02, (weakest, together)
    with override_settings(FACEREC={"IDENTIFY_THRESHOLD": (weakest + together) / 2}):
        client = client_for(door[1])
        body = answer(client, services.challenge_issue(kiosk=door[0]).nonce, frames).json()
        assert body["status"] == "clocked", body
        assert AttendanceEvent.objects.get().employee_code == "E001"

    # at the shipped threshold two frames of person01 carry the mean; the frame between is person02's
    stand_in = [people["person01"][4], people["person02"][1], people["person01"][5]]
    body = answer(client, services.challenge_issue(kiosk=door[0]).nonce, stand_in).json()
    assert body["status"] == "unknown" and AttendanceEvent.objects.count() == 1
    ended = AuditEvent.objects.filter(action="kiosk_frames").latest("at", "id")
    assert (ended.details["ended"], ended.employees) == ("different_faces", ",E001,")

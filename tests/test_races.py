"""Races between real parallel requests through a live server: what answered last is what is stored."""

import base64
import threading

import pytest
import requests
from rest_framework.authtoken.models import Token

from entries.models import FaceEntry
from entries.recognition import faces
from tests.factories import register

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faces]


@pytest.fixture
def auth(superuser):
    return {"Authorization": f"Token {Token.objects.create(user=superuser).key}"}


def b64(data):
    return base64.b64encode(data).decode()


def in_thread(function):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("response", function()))
    thread.start()
    return thread, result


@pytest.mark.parametrize("body", [{"Image": "new photo"}, {"Department": "Sales"}], ids=["photo", "metadata"])
def test_a_change_racing_a_delete_never_brings_the_entry_back(live_server, photo, auth, monkeypatch, body):
    register(photo, code="E001", image="img1.jpg")
    url = f"{live_server.url}/api/entries/E001/"
    # Given a PATCH that is still working (its photo being analysed, or its entry being validated)...
    working, deleted = threading.Event(), threading.Event()

    def slow(function):
        def wrapper(*args, **kwargs):
            working.set()
            deleted.wait(10)
            return function(*args, **kwargs)
        return wrapper

    if "Image" in body:
        monkeypatch.setattr(faces, "analyse", slow(faces.analyse))
        body = {"Image": b64(photo("img2.jpg"))}
    else:
        monkeypatch.setattr(FaceEntry, "full_clean", slow(FaceEntry.full_clean))
    thread, patched = in_thread(lambda: requests.patch(url, json=body, headers=auth, timeout=60))
    assert working.wait(10)
    # ...when a DELETE of the same entry answers 204 meanwhile...
    assert requests.delete(url, headers=auth, timeout=60).status_code == 204
    deleted.set()
    thread.join(60)
    # ...then the PATCH loses with 404 and the entry stays deleted.
    assert patched["response"].status_code == 404, patched["response"].content
    assert patched["response"].json()["code"] == "not_found"
    assert not FaceEntry.objects.exists()
    assert requests.get(url, headers=auth, timeout=60).status_code == 404


def test_one_face_registered_twice_in_parallel_is_stored_once(live_server, photo, auth, monkeypatch):
    # Given two registrations of the same face whose analyses finish at the same moment
    both_analysed = threading.Barrier(2, timeout=20)
    real = faces.analyse

    def in_step(*args, **kwargs):
        face = real(*args, **kwargs)
        both_analysed.wait()
        return face

    monkeypatch.setattr(faces, "analyse", in_step)
    url = f"{live_server.url}/api/entries/"
    posts = [in_thread(lambda code=code: requests.post(
        url, json={"Employeecode": code, "Name": code, "Image": b64(photo("img1.jpg"))}, headers=auth, timeout=60))
        for code in ("E001", "E002")]
    for thread, _ in posts:
        thread.join(60)
    # Then exactly one is created and the other is told whose face it is
    statuses = sorted(result["response"].status_code for _, result in posts)
    assert statuses == [201, 409], [r["response"].content for _, r in posts]
    assert FaceEntry.objects.count() == 1

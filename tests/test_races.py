"""Races and faults with real parallel requests through live servers: what is stored is always whole."""

import base64
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

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
        url, json={"Employeecode": code, "Name": code, "Image": b64(photo("img1.jpg")), "consent_reference": "F"},
        headers=auth, timeout=60))
        for code in ("E001", "E002")]
    for thread, _ in posts:
        thread.join(60)
    # Then exactly one is created and the other is told whose face it is
    statuses = sorted(result["response"].status_code for _, result in posts)
    assert statuses == [201, 409], [r["response"].content for _, r in posts]
    assert FaceEntry.objects.count() == 1


def test_a_worker_killed_mid_registration_leaves_nothing_half_written(two_servers, photo):
    # Given registrations in flight on one server process...
    url, auth = two_servers.urls[0], two_servers.auth
    master = two_servers.masters[0].pid
    worker = next(int(p.parent.name) for p in Path("/proc").glob("[0-9]*/stat")
                  if p.read_text().rsplit(")", 1)[1].split()[1] == str(master))
    body = {"Name": "Ann", "Image": b64(photo("img1.jpg")), "allow_duplicate_face": True, "consent_reference": "F"}
    posts = [in_thread(lambda code=code: _post_or_error(f"{url}entries/", {**body, "Employeecode": code}, auth))
             for code in ("K1", "K2", "K3")]
    time.sleep(0.3)
    # ...when its worker is killed outright...
    os.kill(worker, signal.SIGKILL)
    for thread, _ in posts:
        thread.join(60)
    # ...then every entry stored is whole (photo and matching embedding), and the server recovers
    rows = _stored_entries(two_servers.database)
    assert all(size == 192 * 4 and matching for _, size, matching in rows), rows
    answer = _post_or_error(f"{url}entries/", {**body, "Employeecode": "K9"}, auth, wait=60)
    assert answer == 201


def _stored_entries(database_url):
    """(code, embedding bytes, embedding matches photo) of each entry, read straight from the database."""
    if database_url.startswith("mongodb"):
        import pymongo

        collection = pymongo.MongoClient(database_url).get_default_database()["faceEntries"]
        return [(d["employee_code"], len(d["embedding"]), d["embedding_sha256"] == d["image_sha256"])
                for d in collection.find()]
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        return db.execute('SELECT employee_code, length(embedding), embedding_sha256 = image_sha256 '
                          'FROM "faceEntries"').fetchall()


def _post_or_error(url, body, auth, wait=0):
    """The status of a POST, or the name of the connection error; retried for `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return requests.post(url, json=body, headers=auth, timeout=60).status_code
        except requests.RequestException as exc:
            if time.monotonic() >= deadline:
                return type(exc).__name__
            time.sleep(0.5)

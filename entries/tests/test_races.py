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
from django.db import DatabaseError
from rest_framework.authtoken.models import Token

from audit.models import AuditEvent
from entries import identification, services
from entries.gallery.index import get_index
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


WITHDRAWAL = {"consent_reference": "WITHDRAWN 2026-12-01", "retain_until": "2027-01-31"}


def _photo_change(kind, url, photo, auth):
    """Replace E001's photo with img2.jpg as a client would: the API's PATCH Image, or the 1.x PUT /update/."""
    if kind == "PATCH Image":
        return requests.patch(f"{url}/api/entries/E001/", json={"Image": b64(photo("img2.jpg"))}, headers=auth,
                              timeout=60)
    return requests.put(f"{url}/update/E001", json={"Name": "Ann", "Images": [b64(photo("img2.jpg"))]},
                        headers=auth, timeout=60)


def _assert_both_changes_kept(photo):
    stored = FaceEntry.objects.get(employee_code="E001")
    assert (stored.consent_reference, str(stored.retain_until)) == tuple(WITHDRAWAL.values())
    assert stored.image_sha256 == faces.digest(photo("img2.jpg")) and stored.embedding_is_current()
    # the search (pgvector's mirror too, on PostgreSQL) finds the new photo's embedding, not the old one
    (best,) = get_index(stored.embedding_model).search(stored.vector, k=1)
    assert best.employee_code == "E001" and best.similarity > 0.999, best


@pytest.mark.parametrize("kind", ["PATCH Image", "PUT /update/"])
def test_a_consent_withdrawal_during_a_photo_change_is_kept(live_server, photo, auth, monkeypatch, kind):
    register(photo, code="E001", name="Ann", image="img1.jpg")
    # Given a photo change whose photo has been analysed but not yet written...
    analysed, withdrawn = threading.Event(), threading.Event()
    real = faces.analyse

    def analyse_then_wait(*args, **kwargs):
        face = real(*args, **kwargs)
        analysed.set()
        withdrawn.wait(20)
        return face

    monkeypatch.setattr(faces, "analyse", analyse_then_wait)
    thread, changed = in_thread(lambda: _photo_change(kind, live_server.url, photo, auth))
    assert analysed.wait(30)
    # ...when HR withdraws consent and shortens retention meanwhile (200)...
    patched = requests.patch(f"{live_server.url}/api/entries/E001/", json=WITHDRAWAL, headers=auth, timeout=60)
    assert patched.status_code == 200, patched.content
    withdrawn.set()
    thread.join(60)
    # ...then both changes are stored: the photo change does not write the old consent back
    assert changed["response"].status_code == 200, changed["response"].content
    _assert_both_changes_kept(photo)


@pytest.mark.parametrize("kind", ["PATCH Image", "PUT /update/"])
def test_a_photo_change_during_a_consent_withdrawal_is_kept(live_server, photo, auth, monkeypatch, kind):
    register(photo, code="E001", name="Ann", image="img1.jpg")
    # Given a consent withdrawal that has read the entry (with its old photo) and is being validated...
    validating, replaced = threading.Event(), threading.Event()
    real = FaceEntry.full_clean

    def wait_when_withdrawing(entry, *args, **kwargs):
        if entry.consent_reference == WITHDRAWAL["consent_reference"]:
            validating.set()
            replaced.wait(20)
        return real(entry, *args, **kwargs)

    monkeypatch.setattr(FaceEntry, "full_clean", wait_when_withdrawing)
    thread, patched = in_thread(lambda: requests.patch(f"{live_server.url}/api/entries/E001/", json=WITHDRAWAL,
                                                       headers=auth, timeout=60))
    assert validating.wait(30)
    # ...when the photo is replaced meanwhile (200)...
    changed = _photo_change(kind, live_server.url, photo, auth)
    assert changed.status_code == 200, changed.content
    replaced.set()
    thread.join(60)
    # ...then both changes are stored: the withdrawal does not write the old photo back
    assert patched["response"].status_code == 200, patched["response"].content
    _assert_both_changes_kept(photo)


def test_a_1x_update_that_fails_before_its_end_changes_nothing(live_server, photo, auth, monkeypatch):
    register(photo, code="E001", name="Ann", department="HR", image="img1.jpg")
    # Given a 1.x update whose last step (recording it in the audit trail) fails, after its photos are written
    real = services.emit

    def fail_on_metadata(action, codes, **details):
        if action == "update" and "name" in details.get("fields", ()):
            raise DatabaseError("disk I/O error")
        return real(action, codes, **details)

    monkeypatch.setattr(services, "emit", fail_on_metadata)
    body = {"Name": "Ann Roe", "Department": "Ops", "Images": [b64(photo("img2.jpg")), b64(photo("img4.jpg"))]}
    failed = requests.put(f"{live_server.url}/update/E001", json=body, headers=auth, timeout=60)
    # Then it fails as a whole: neither the photos nor the metadata changed
    assert failed.status_code >= 500
    stored = FaceEntry.objects.get()
    assert (stored.name, stored.department, bytes(stored.image)) == ("Ann", "HR", photo("img1.jpg"))
    assert not stored.photos.exists()
    # and when it succeeds it is one change, audited once
    monkeypatch.setattr(services, "emit", real)
    audited = AuditEvent.objects.filter(action="update")
    before = audited.count()
    assert requests.put(f"{live_server.url}/update/E001", json=body, headers=auth, timeout=60).status_code == 200
    stored = FaceEntry.objects.get()
    assert (stored.name, stored.department, bytes(stored.image)) == ("Ann Roe", "Ops", photo("img2.jpg"))
    assert [bytes(p.image) for p in stored.photos.all()] == [photo("img4.jpg")]
    assert audited.count() == before + 1
    event = audited.order_by("-id").first()
    assert event.details["photos"] == 2 and {"name", "department", "photos"} <= set(event.details["fields"])


def test_recognising_a_face_whose_entry_is_deleted_meanwhile_answers_404(live_server, photo, auth, monkeypatch):
    register(photo, code="E001", image="img1.jpg")
    # Given a recognition that has matched E001 but not yet read the entry...
    matched, deleted = threading.Event(), threading.Event()
    real = identification.identify

    def identify_then_wait(**kwargs):
        result = real(**kwargs)
        matched.set()
        deleted.wait(20)
        return result

    monkeypatch.setattr(identification, "identify", identify_then_wait)
    thread, recognised = in_thread(lambda: requests.post(
        f"{live_server.url}/recognize_face", files={"Face": ("x.jpg", photo("img2.jpg"))}, headers=auth, timeout=60))
    assert matched.wait(30)
    # ...when E001 is deleted meanwhile...
    assert requests.delete(f"{live_server.url}/delete/E001", headers=auth, timeout=60).status_code == 200
    deleted.set()
    thread.join(60)
    # ...then the answer is the original's "no match", not a server error
    assert recognised["response"].status_code == 404, recognised["response"].content
    assert recognised["response"].json() == {"message": "No match found"}


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
    worker = _worker_of(two_servers.masters[0].pid)
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


def test_a_worker_killed_mid_1x_update_leaves_the_old_entry_or_the_new_one(two_servers, photo):
    url, auth = two_servers.urls[0], two_servers.auth
    body = {"Employeecode": "E001", "Name": "Ann", "Department": "HR", "Image": b64(photo("img1.jpg")),
            "consent_reference": "F"}
    assert requests.post(f"{url}entries/", json=body, headers=auth, timeout=60).status_code == 201
    # Given a 1.x update of photos and metadata in flight...
    new = {"Name": "Ann Roe", "Department": "Ops", "Images": [b64(photo("img2.jpg")), b64(photo("img4.jpg"))]}
    worker = _worker_of(two_servers.masters[0].pid)
    thread, _ = in_thread(lambda: _put_or_error(f"{url.removesuffix('api/')}update/E001", new, auth))
    # ...when its worker is killed the moment its new photo can be seen...
    deadline = time.monotonic() + 60
    while _stored_entry(two_servers.database)[2] != faces.digest(photo("img2.jpg")):
        assert time.monotonic() < deadline, "the new photo was never stored"
    os.kill(worker, signal.SIGKILL)
    thread.join(60)
    # ...then the new metadata and extra photo are there too: it was one transaction
    assert _stored_entry(two_servers.database) == ("Ann Roe", "Ops", faces.digest(photo("img2.jpg")), 1)


def _worker_of(master):
    """The pid of a gunicorn master's one worker."""
    return next(int(p.parent.name) for p in Path("/proc").glob("[0-9]*/stat")
                if p.read_text().rsplit(")", 1)[1].split()[1] == str(master))


def _stored_entry(database_url, code="E001"):
    """(name, department, main photo digest, extra photos) of an entry, read straight from the database."""
    if database_url.startswith("mongodb"):
        import pymongo

        database = pymongo.MongoClient(database_url).get_default_database()
        entry = database["faceEntries"].find_one({"employee_code": code})
        return (entry["name"], entry["department"], entry["image_sha256"],
                database["facePhotos"].count_documents({"entry_id": entry["_id"]}))
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        return db.execute('SELECT name, department, image_sha256, (SELECT count(*) FROM "facePhotos" '
                          'WHERE entry_id = e.id) FROM "faceEntries" e WHERE employee_code = ?', [code]).fetchone()


def _put_or_error(url, body, auth):
    try:
        return requests.put(url, json=body, headers=auth, timeout=60).status_code
    except requests.RequestException as exc:
        return type(exc).__name__


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

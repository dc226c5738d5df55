"""Search backends: exact in-process and pgvector agree, and every process sees the database's truth."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from django.db import connection
from django.db.models import QuerySet

from entries.models import FaceEntry
from entries.recognition import pgvector
from entries.recognition.search import ExactIndex, PgVectorIndex, normalise

REPO = Path(__file__).resolve().parent.parent


def make_entries(count, dimension=128, seed=0):
    """Entries with random embeddings, inserted around the engine: these tests are of search logic only."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, dimension)).astype(np.float32)
    entries = [
        FaceEntry(employee_code=f"S{i}", name=f"S {i}", department="A" if i % 2 else "B",
                  image=b"x", image_mime="image/jpeg", image_sha256="d", embedding_sha256="d",
                  embedding=vector.tobytes(), embedding_model="Dlib", face_box=[0, 0, 1, 1], thumbnail=b"")
        for i, vector in enumerate(vectors)
    ]
    QuerySet.bulk_create(FaceEntry.objects.all(), entries)
    return vectors


@pytest.mark.django_db
def test_exact_search_finds_the_nearest_and_follows_inserts_updates_and_deletes():
    vectors = make_entries(50)
    index = ExactIndex("Dlib")
    for i in (0, 17, 49):
        [best] = index.search(vectors[i], k=1)
        assert best.employee_code == f"S{i}" and best.similarity == pytest.approx(1.0, abs=1e-5)
    top = index.search(vectors[3], k=5)
    expected = np.argsort(-(normalise(vectors) @ normalise(vectors[3])))[:5]
    assert [m.employee_code for m in top] == [f"S{i}" for i in expected]
    assert all(m.department == "A" for m in index.search(vectors[3], k=5, department="A"))

    FaceEntry.objects.filter(employee_code="S3").delete()
    assert index.search(vectors[3], k=1)[0].employee_code != "S3"
    FaceEntry.objects.filter(employee_code="S5").update(department="Moved")
    assert index.search(vectors[5], k=1, department="Moved")[0].employee_code == "S5"
    assert index.gallery_size() == 49


@pytest.mark.django_db
def test_embeddings_of_other_models_are_never_searched():
    make_entries(5)
    assert ExactIndex("Facenet").search(np.ones(128), k=3) == []


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="pgvector needs PostgreSQL")
def test_pgvector_agrees_with_exact_search():
    if not pgvector.available():
        pytest.skip("the pgvector extension is not installed on this PostgreSQL server")
    vectors = make_entries(300)
    pgvector.backfill()  # rows inserted without save() signals
    exact, approximate = ExactIndex("Dlib"), PgVectorIndex("Dlib")
    rng = np.random.default_rng(1)
    for query in list(vectors[:20]) + list(rng.normal(size=(10, 128))):
        e, a = exact.search(query, k=3), approximate.search(query, k=3)
        assert [m.employee_code for m in e][:1] == [m.employee_code for m in a][:1]
        assert e[0].similarity == pytest.approx(a[0].similarity, abs=1e-4)
    assert all(m.department == "A" for m in approximate.search(vectors[0], k=5, department="A"))
    FaceEntry.objects.filter(employee_code="S0").delete()  # ON DELETE CASCADE
    assert approximate.search(vectors[0], k=1)[0].employee_code != "S0"


# --- two server processes, one database ----------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def two_servers(tmp_path, faces_dir):
    """Two gunicorn processes (one worker each) on one SQLite database file, and an API token."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}", "SECRET_KEY": "t",
           "DJANGO_SETTINGS_MODULE": "facerec.settings", "ALLOWED_HOSTS": "127.0.0.1", "DEBUG": "0",
           "SECURE_SSL_REDIRECT": "0"}  # plain HTTP on loopback, as behind a TLS proxy
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=REPO)
    token = subprocess.run(
        [*manage, "shell", "-c",
         "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token;"
         "u = User.objects.create_superuser('ops', 'o@x.org', 'pw'); print(Token.objects.create(user=u).key)"],
        env=env, check=True, cwd=REPO, capture_output=True, text=True).stdout.split()[-1]
    ports, processes = [free_port(), free_port()], []
    gunicorn = Path(sys.executable).with_name("gunicorn")
    for port in ports:
        processes.append(subprocess.Popen(
            [str(gunicorn), "facerec.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "120"],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    urls = [f"http://127.0.0.1:{port}/api/" for port in ports]
    deadline = time.monotonic() + 60
    for url in urls:
        while True:
            try:
                requests.get(url, timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    yield urls, {"Authorization": f"Token {token}"}
    for process in processes:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_two_server_processes_agree_without_a_restart(two_servers, photo):
    (first, second), auth = two_servers
    import base64

    def identify(url, name):
        response = requests.post(f"{url}identify/", json={"Image": base64.b64encode(photo(name)).decode()},
                                 headers=auth, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()["faces"][0]["decision"]

    assert identify(second, "img2.jpg") == "unknown"  # warms the second process's index: empty
    body = {"Employeecode": "E001", "Name": "Ann", "Image": base64.b64encode(photo("img1.jpg")).decode()}
    assert requests.post(f"{first}entries/", json=body, headers=auth, timeout=60).status_code == 201
    assert identify(second, "img2.jpg") == "E001"  # registered through the first process
    assert requests.delete(f"{second}entries/E001/", headers=auth, timeout=60).status_code == 204
    assert identify(first, "img2.jpg") == "unknown"  # deleted through the second

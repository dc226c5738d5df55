"""Search backends: exact in-process and pgvector agree, and every process sees the database's truth."""

from pathlib import Path

import numpy as np
import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.db.models import QuerySet

from entries.gallery import pgvector
from entries.gallery.index import ExactIndex, PgVectorIndex
from entries.models import FaceEntry
from entries.recognition.vectors import normalise

REPO = Path(__file__).resolve().parents[2]


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


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="pgvector needs PostgreSQL")
def test_a_flush_leaves_no_vector_behind():
    if not pgvector.available():
        pytest.skip("the pgvector extension is not installed on this PostgreSQL server")
    make_entries(5)
    pgvector.backfill()
    # When the face tables are emptied by flush (as an operator's `manage.py flush`, or every transactional test)
    call_command("flush", verbosity=0, interactive=False)
    # Then no embedding outlives its entry in face_vectors (nor crowds later searches' nearest neighbours)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {pgvector.TABLE}")
        assert cursor.fetchone()[0] == 0


# --- two server processes, one database ----------------------------------------------------------

def test_two_server_processes_agree_without_a_restart(two_servers, photo):
    (first, second), auth = two_servers.urls, two_servers.auth
    import base64

    def identify(url, name):
        response = requests.post(f"{url}identify/", json={"Image": base64.b64encode(photo(name)).decode()},
                                 headers=auth, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()["faces"][0]["decision"]

    assert identify(second, "img2.jpg") == "unknown"  # warms the second process's index: empty
    body = {"Employeecode": "E001", "Name": "Ann", "Image": base64.b64encode(photo("img1.jpg")).decode(),
            "consent_reference": "F-1"}
    assert requests.post(f"{first}entries/", json=body, headers=auth, timeout=60).status_code == 201
    assert identify(second, "img2.jpg") == "E001"  # registered through the first process
    assert requests.delete(f"{second}entries/E001/", headers=auth, timeout=60).status_code == 204
    assert identify(first, "img2.jpg") == "unknown"  # deleted through the second

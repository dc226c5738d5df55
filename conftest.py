"""Shared fixtures: real photos from ../shared/faces, prepared faces, users with and without permissions, live servers.

Every test that runs the face engine is marked `engine`, so `pytest -m "not engine"` is the fast tier: a test
that asks for real photos (or the LFW set, or a browser) is marked when collected, and any other test that
loads the engine fails, naming the marker it lacks.
"""

import os
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from PIL import Image
from rest_framework.test import APIClient

from facerec import databases
from tests import factories, live
from tests.factories import encode
from tests.live import free_port

REPO = Path(__file__).resolve().parent
FACES_DIR = Path(os.environ.get("FACEREC_FACES_DIR", REPO.parent / "shared" / "faces"))
LFW_DIR = Path(os.environ.get("FACEREC_LFW_DIR", REPO.parent / "shared" / "lfw-dev"))


ENGINE_FIXTURES = {"photo", "faces_dir", "lfw_dir", "lfw_photo", "no_face_jpeg", "two_servers"}
ENGINE_MARKERS = ("faces", "lfw", "browser")


def pytest_collection_modifyitems(items):
    """Mark `engine` every test that feeds real photos, or a photo without a face, to the face engine
    (and `faces` every test that reads the real photos)."""
    for item in items:
        if "faces_dir" in item.fixturenames and not item.get_closest_marker("faces"):
            item.add_marker(pytest.mark.faces)
        if ENGINE_FIXTURES & set(item.fixturenames) or any(item.get_closest_marker(m) for m in ENGINE_MARKERS):
            item.add_marker(pytest.mark.engine)


class EngineNotAllowed(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def engine_guard(request, monkeypatch):
    """A test not marked `engine` never loads the face engine: it fails (also if the code caught the refusal)."""
    if request.node.get_closest_marker("engine"):
        yield
        return
    from entries.recognition import engine

    loads = []

    def refuse(*args, **kwargs):
        loads.append(args)
        raise EngineNotAllowed(f"{request.node.nodeid} loads the face engine: mark it @pytest.mark.engine, "
                               "or give it prepared faces (tests.factories, the prepared_faces fixture)")

    monkeypatch.setattr(engine, "get_engine", refuse)
    yield
    if loads:
        pytest.fail(f"{request.node.nodeid} loaded the face engine but is not marked engine", pytrace=False)


@pytest.fixture
def prepared_faces(monkeypatch):
    """The engine's answers for the factories' photos (tests.factories.face_photo, no_face_photo).

    For what the claim is not recognition (API fields, permissions, audit, attendance bookkeeping) sent through
    the API, the admin or a kiosk. Any other photo still goes to the engine.
    """
    from entries.exceptions import NoFaceFound
    from entries.recognition import faces

    analyse, find = faces.analyse, faces.find

    def prepared_analyse(data, *, largest_face=False, check_quality=True, face_box=None):
        known, face = factories.prepared(data)
        if not known:
            return analyse(data, largest_face=largest_face, check_quality=check_quality, face_box=face_box)
        if face is None:
            raise NoFaceFound("No face was found in the photo. Use a clear, front-facing photo of one person.")
        return face

    def prepared_find(data, *, limit):
        known, face = factories.prepared(data)
        if not known:
            return find(data, limit=limit)
        if face is None:
            return [], []
        return [face.box], [faces.FoundFace(face.box, face.embedding)][:limit]

    monkeypatch.setattr(faces, "analyse", prepared_analyse)
    monkeypatch.setattr(faces, "find", prepared_find)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttling and lockout counts start from zero in every test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not (FACES_DIR / "identities.csv").is_file():
        pytest.skip(f"real face photos not found in {FACES_DIR} (set FACEREC_FACES_DIR)")
    return FACES_DIR


@pytest.fixture(scope="session")
def lfw_dir() -> Path:
    if not (LFW_DIR / "pairs.csv").is_file():
        pytest.skip(f"the LFW development set was not found in {LFW_DIR} (set FACEREC_LFW_DIR)")
    return LFW_DIR


@pytest.fixture(scope="session")
def lfw_photo(lfw_dir):
    """Return the bytes of an LFW photo by person and number (Zhang_Ziyi, 1)."""
    return lambda person, number: (lfw_dir / "images" / person / f"{person}_{number:04d}.jpg").read_bytes()


@pytest.fixture(scope="session")
def photo(faces_dir):
    """Return the bytes of a shared photo by file name."""
    return lambda name: (faces_dir / name).read_bytes()



@pytest.fixture(scope="session")
def no_face_jpeg() -> bytes:
    """A real JPEG with no face in it: a smooth gradient."""
    image = Image.linear_gradient("L").resize((400, 300)).convert("RGB")
    return encode(image)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("admin", "admin@example.com", "pw")


def _user_with(username, *codenames):
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def viewer(db):
    return _user_with("viewer", "view_faceentry")


@pytest.fixture
def api(superuser):
    client = APIClient()
    client.force_authenticate(superuser)
    return client


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory):
    """mongodb://… of a MongoDB-wire test server: the suite's (FACEREC_TEST_MONGO_URL, set by scripts/test.sh),
    or a SecantusDB started for this session."""
    if os.environ.get("FACEREC_TEST_MONGO_URL"):
        yield os.environ["FACEREC_TEST_MONGO_URL"].rstrip("/")
        return
    script = REPO / "scripts" / "mongo-test-server.sh"  # the same server the test command starts
    env = {**os.environ, "FACEREC_MONGO_STATE": str(tmp_path_factory.mktemp("mongo"))}
    started = subprocess.run([str(script), "start"], env=env, capture_output=True, text=True)
    if started.returncode != 0:
        pytest.skip(f"the MongoDB test server did not start (install requirements-dev.txt, or set "
                    f"FACEREC_TEST_MONGO_URL): {started.stderr.strip()}")
    yield started.stdout.strip()
    subprocess.run([str(script), "stop"], env=env, check=True)


@dataclass
class Servers:
    urls: list[str]  # .../api/ of each gunicorn process
    auth: dict  # the Authorization header of a superuser's token
    database: str  # the DATABASE_URL they share
    masters: list  # the gunicorn master processes (each with one worker)


@pytest.fixture
def two_servers(tmp_path, faces_dir, settings):
    """Two gunicorn processes (one worker each) on one database, and an API token.

    A SQLite file, or when the suite runs on MongoDB a database of its own on the same server.
    """
    if settings.DATABASES["default"]["ENGINE"] == databases.MONGO_ENGINE:
        database = f"{settings.DATABASES['default']['HOST'].rsplit('/', 1)[0]}/facerec_live_{free_port()}"
    else:
        database = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": "t",
           "DJANGO_SETTINGS_MODULE": "facerec.settings", "ALLOWED_HOSTS": "127.0.0.1", "DEBUG": "0",
           "SECURE_SSL_REDIRECT": "0"}  # plain HTTP on loopback, as behind a TLS proxy
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=REPO)
    token = subprocess.run(
        [*manage, "shell", "-c",
         "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token;"
         "u = User.objects.create_superuser('ops', 'o@x.org', 'pw'); print(Token.objects.create(user=u).key)"],
        env=env, check=True, cwd=REPO, capture_output=True, text=True).stdout.split()[-1]
    try:
        with ExitStack() as running:  # every server started is stopped, also when a later one fails to start
            servers = [running.enter_context(live.gunicorn(env)) for _ in range(2)]
            yield Servers([f"{server.url}/api/" for server in servers], {"Authorization": f"Token {token}"},
                          database, [server.process for server in servers])
    finally:
        if database.startswith("mongodb"):
            import pymongo

            pymongo.MongoClient(database).drop_database(database.rsplit("/", 1)[1])

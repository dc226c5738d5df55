"""Hostile images at every door: tiny, thin, truncated, huge-declared, in every supported format.

Native code (dlib, LiteRT, OpenCV) must never see degenerate input: on 1-50 px photos and thin strips dlib's
CNN detector used to raise, or corrupt the worker's memory and kill it. Whatever the image, every endpoint that
takes one answers a 4xx with a JSON error `code` (or its normal answer), never a 5xx, and no worker dies.
"""

import base64
import io
import os
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.exceptions import FaceRecError
from entries.recognition import faces
from tests.factories import register
from tests.live import REPO

FORMATS = ["JPEG", "MPO", "PNG", "PNG-16-bit-grey", "PNG-palette", "PNG-alpha", "PNG-grey-alpha", "WEBP", "HEIF"]
# Squares around the minimum side and the sizes that used to break dlib, and strips both ways.
SHAPES = [(1, 1), (3, 3), (9, 9), (31, 31), (40, 40), (64, 64), (2000, 10), (10, 2000), (1, 500), (500, 1),
          (4000, 40), (40, 4000)]
FULL_SETS = [(1, 1), (40, 40), (4000, 40)]  # these shapes in every format; the other shapes take turns


def _encode(pixels: np.ndarray, kind: str) -> bytes:
    """Pixels (h, w, 3) as a file of one kind: a format, and for PNG the mode it is stored in."""
    image = Image.fromarray(pixels)
    params = {}
    if kind == "PNG-16-bit-grey":
        image = Image.fromarray(pixels[:, :, 0].astype(np.uint16) * 257)
    elif kind == "PNG-palette":
        image = image.convert("P")
    elif kind == "PNG-alpha":
        image = image.convert("RGBA")
    elif kind == "PNG-grey-alpha":
        image = image.convert("LA")
    elif kind == "MPO":
        params = {"save_all": True, "append_images": [image]}
    if kind == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    out = io.BytesIO()
    image.save(out, format=kind.split("-")[0], **params)
    return out.getvalue()


def _noise(width: int, height: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few bytes whose header claims width x height pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG's headers with the frame size rewritten, its data cut short."""
    data = bytearray(_encode(_noise(16, 16, 0), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", height, width)
    return bytes(data[: len(data) // 2])


def corpus() -> list[tuple[str, bytes]]:
    """The images every endpoint gets: (label, bytes), the same on every run."""
    found = []
    for number, (width, height) in enumerate(SHAPES):
        kinds = FORMATS if (width, height) in FULL_SETS else [FORMATS[number % len(FORMATS)]]
        for kind in kinds:
            found.append((f"{kind} {width}x{height}", _encode(_noise(width, height, number), kind)))
    face_like = _noise(64, 64, 99)
    for kind in ("JPEG", "PNG", "WEBP", "HEIF"):
        data = _encode(face_like, kind)
        found.append((f"{kind} 64x64 truncated", data[: len(data) // 2]))
    found += [
        ("PNG declaring 50000x50000", png_declaring(50_000, 50_000)),
        ("PNG declaring 6300x6300, no pixels", png_declaring(6300, 6300)),
        ("JPEG declaring 65000x65000, truncated", jpeg_declaring(65_000, 65_000)),
        ("JPEG declaring 1x60000, truncated", jpeg_declaring(1, 60_000)),
        ("empty", b""),
        ("not an image", b"GIF89a" + bytes(64)),
    ]
    return found


CORPUS = corpus()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def upload(data: bytes, name: str = "photo.png"):
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def admin_form(data: bytes, n: int) -> dict:
    return {"employee_code": f"A{n}", "name": "Fuzz", "gender": "female", "department": "HR",
            "consent_reference": "fuzz", "photos-TOTAL_FORMS": 0, "photos-INITIAL_FORMS": 0, "photo": upload(data)}


def compat_employee(data: bytes, n: int) -> dict:
    return {"EmployeeCode": f"C{n}", "Name": "Fuzz", "gender": "Female", "Department": "HR",
            "ConsentReference": "fuzz", "Images": [b64(data)]}


# Every endpoint that takes an image: (name, kind of answer, send(clients, image, n) -> response).
ENDPOINTS = {
    "POST /api/entries/ JSON": ("api", lambda c, d, n: c.api.post(
        "/api/entries/", {"Employeecode": f"F{n}", "Name": "Fuzz", "Image": b64(d), "consent_reference": "fuzz"},
        format="json")),
    "POST /api/entries/ multipart": ("api", lambda c, d, n: c.api.post(
        "/api/entries/", {"Employeecode": f"M{n}", "Name": "Fuzz", "Image": upload(d), "consent_reference": "fuzz"},
        format="multipart")),
    "PATCH /api/entries/E001/ Image": ("api", lambda c, d, n: c.api.patch(
        "/api/entries/E001/", {"Image": b64(d)}, format="json")),
    "POST /api/entries/E001/faces/": ("api", lambda c, d, n: c.api.post(
        "/api/entries/E001/faces/", {"Image": b64(d)}, format="json")),
    "POST /api/identify/": ("api", lambda c, d, n: c.api.post("/api/identify/", {"Image": b64(d)}, format="json")),
    "POST /api/verify/": ("api", lambda c, d, n: c.api.post(
        "/api/verify/", {"Image": b64(d), "Employeecode": "E001"}, format="json")),
    "POST /create_new_faceEntry": ("api", lambda c, d, n: c.api.post(
        "/create_new_faceEntry", compat_employee(d, n), format="json")),
    "PUT /update/E001": ("api", lambda c, d, n: c.api.put(
        "/update/E001", {"Name": "Ann Lee", "gender": "Female", "Department": "HR", "Images": [b64(d)]},
        format="json")),
    "POST /recognize_face": ("compat-recognize", lambda c, d, n: c.api.post(
        "/recognize_face", {"Face": upload(d)}, format="multipart")),
    "POST /api/attendance/clock/": ("kiosk", lambda c, d, n: c.kiosk.post(
        "/api/attendance/clock/", {"Image": b64(d)}, format="json")),
    "admin add form": ("admin", lambda c, d, n: c.admin.post("/admin/entries/faceentry/add/", admin_form(d, n))),
    "admin Identify a photo": ("admin", lambda c, d, n: c.admin.post(
        "/admin/entries/faceentry/identify/", {"photo": upload(d), "department": ""})),
}


def problem(kind: str, status: int, content_type: str, body: bytes) -> str | None:
    """What is wrong with an answer to a hostile image, or None: never a 5xx; errors are JSON with a code."""
    if status >= 500:
        return f"{status}: {body[:200]!r}"
    if kind == "admin":
        return None if status in (200, 302) else f"admin answered {status}"
    if "json" not in content_type:
        return f"{status} {content_type}, not JSON"
    answer = __import__("json").loads(body)
    if status >= 400 and "code" not in answer and not (kind == "compat-recognize" and status == 404):
        return f"{status} without a code: {answer}"  # 1.x recognize_face answers "No match found" as the original
    return None


class Clients:
    def __init__(self, api, admin, kiosk):
        self.api, self.admin, self.kiosk = api, admin, kiosk


@pytest.fixture
def clients(api, admin_client, photo):
    from rest_framework.test import APIClient

    from attendance import services as attendance

    register(photo, "E001", "img1.jpg", name="Ann Lee")
    kiosk = APIClient()
    kiosk.credentials(HTTP_AUTHORIZATION=f"Kiosk {attendance.kiosk_register(name='Fuzz door')[1]}")
    return Clients(api, admin_client, kiosk)


@pytest.mark.django_db
@pytest.mark.faces
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_no_hostile_image_gets_a_5xx_or_an_answer_without_a_code(endpoint, clients):
    kind, send = ENDPOINTS[endpoint]
    wrong = []
    for n, (label, data) in enumerate(CORPUS):
        response = send(clients, data, n)
        issue = problem(kind, response.status_code, response.get("Content-Type", ""), response.content)
        if issue:
            wrong.append(f"{label}: {issue}")
    assert not wrong, f"{len(wrong)} of {len(CORPUS)} images at {endpoint}:\n" + "\n".join(wrong)


@pytest.mark.django_db
@pytest.mark.faces
@pytest.mark.parametrize("side", [(1, 1), (31, 31), (2000, 10), (10, 2000), (1, 500)])
def test_a_photo_under_the_minimum_side_is_refused_as_too_small(api, side):
    data = _encode(_noise(*side, 0), "PNG")
    for url, body in (("/api/identify/", {"Image": b64(data)}),
                      ("/api/entries/", {"Employeecode": "T1", "Name": "T", "Image": b64(data),
                                         "consent_reference": "fuzz"})):
        response = api.post(url, body, format="json")
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "image_too_small"
        assert "32" in response.json()["message"]


# --- the engine itself, whatever its caller -------------------------------------------------------------

ENGINE_PROBE = """
import os, sys
sys.path.insert(0, {repo!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerec.test_settings")
import django; django.setup()
import numpy as np
from entries.recognition import faces
from entries.recognition.engine import Detection
engine = faces.get_engine()
rng = np.random.default_rng(0)
for width, height in {shapes!r}:
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert isinstance(engine.detect(rgb), list) and isinstance(engine.detect(rgb, all_faces=False), list)
    marks = np.array([[width, height]] * 5, dtype=np.float32) / 2  # five landmarks on one point
    for box in ((0, 0, width, height), (-50, -50, 10, 10), (0, 0, 0, 0)):
        engine.embed(rgb, [Detection(box, marks), Detection(box, marks * 1e6), Detection(box, marks * np.nan)])
print("survived")
"""


@pytest.mark.parametrize("detector", ["hog", "blazeface"])
def test_the_engine_survives_degenerate_photos_and_faces_from_any_caller(detector):
    """Engine.detect and .embed straight, past faces.py's minimum: in a child process, as a crash would kill it."""
    shapes = [(w, h) for w in (1, 2, 5, 9, 10, 16, 31) for h in (1, 3, 9, 16)]
    shapes += [(2000, 10), (10, 2000), (2, 320), (320, 2), (4000, 40), (40, 4000), (6000, 12), (12, 6000)]
    env = {**os.environ, "SECRET_KEY": "t", "FACEREC_DETECTOR": detector}
    result = subprocess.run([sys.executable, "-c", ENGINE_PROBE.format(repo=str(REPO), shapes=shapes)],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "survived" in result.stdout, (result.returncode, result.stderr[-2000:])


@st.composite
def hostile_images(draw):
    """Random small, thin or truncated images in any supported format."""
    if draw(st.booleans()):
        width, height = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    else:
        thin, long = draw(st.integers(1, 48)), draw(st.integers(65, 3000))
        width, height = (thin, long) if draw(st.booleans()) else (long, thin)
    flat = draw(st.booleans())
    pixels = (np.full((height, width, 3), draw(st.integers(0, 255)), np.uint8) if flat
              else _noise(width, height, draw(st.integers(0, 2**16))))
    data = _encode(pixels, draw(st.sampled_from(FORMATS)))
    cut = draw(st.one_of(st.none(), st.floats(0.0, 1.0)))
    return data if cut is None else data[: int(len(data) * cut)]


@pytest.mark.django_db
@pytest.mark.engine  # runs detection on 200 hostile images
@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=hostile_images())
def test_any_small_thin_or_truncated_image_is_a_clear_refusal_or_a_result(data):
    """The pipeline every endpoint runs (faces.find for identify, verify, kiosks; faces.analyse to enrol)."""
    for run in (lambda: faces.find(data, limit=3), lambda: faces.analyse(data)):
        try:
            run()
        except FaceRecError as exc:
            assert exc.code and 400 <= exc.status < 500


# --- through a real gunicorn ------------------------------------------------------------------------------

def _workers(servers) -> list[int]:
    """The worker process ids of each gunicorn master."""
    pids = []
    for master in servers.masters:
        pids += [int(p) for p in Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()]
    return sorted(pids)


def _http_endpoints(auth: dict, kiosk_key: str):
    """(url suffix, kind, send(base, data, n)): the JSON and multipart endpoints, as clients send them."""
    root = lambda base: base.removesuffix("api/")  # noqa: E731
    kiosk = {"Authorization": f"Kiosk {kiosk_key}"}
    return [
        ("api", lambda b, d, n: requests.post(b + "entries/", json={
            "Employeecode": f"F{n}", "Name": "Fuzz", "Image": b64(d), "consent_reference": "fuzz"}, headers=auth)),
        ("api", lambda b, d, n: requests.post(b + "entries/", data={
            "Employeecode": f"M{n}", "Name": "Fuzz", "consent_reference": "fuzz"}, files={"Image": d}, headers=auth)),
        ("api", lambda b, d, n: requests.patch(b + "entries/E001/", json={"Image": b64(d)}, headers=auth)),
        ("api", lambda b, d, n: requests.post(b + "entries/E001/faces/", json={"Image": b64(d)}, headers=auth)),
        ("api", lambda b, d, n: requests.post(b + "identify/", json={"Image": b64(d)}, headers=auth)),
        ("api", lambda b, d, n: requests.post(b + "verify/", json={"Image": b64(d), "Employeecode": "E001"},
                                              headers=auth)),
        ("api", lambda b, d, n: requests.post(root(b) + "create_new_faceEntry", json=compat_employee(d, n),
                                              headers=auth)),
        ("api", lambda b, d, n: requests.put(root(b) + "update/E001", json={
            "Name": "Ann Lee", "gender": "Female", "Department": "HR", "Images": [b64(d)]}, headers=auth)),
        ("compat-recognize", lambda b, d, n: requests.post(root(b) + "recognize_face", files={"Face": d},
                                                           headers=auth)),
        ("kiosk", lambda b, d, n: requests.post(b + "attendance/clock/", json={"Image": b64(d)}, headers=kiosk)),
    ]


@pytest.fixture
def unthrottled(monkeypatch):
    """The fuzz sends more recognitions a minute than a user may: raise the limits for the servers it starts."""
    for scope in ("RECOGNITION", "USER", "KIOSK"):
        monkeypatch.setenv(f"THROTTLE_{scope}", "100000/min")


@pytest.mark.django_db
@pytest.mark.faces
def test_hostile_images_through_gunicorn_answer_4xx_and_kill_no_worker(unthrottled, two_servers, photo):
    servers = two_servers
    ann = {"Employeecode": "E001", "Name": "Ann Lee", "Image": b64(photo("img1.jpg")), "consent_reference": "F-1"}
    assert requests.post(servers.urls[0] + "entries/", json=ann, headers=servers.auth).status_code == 201
    env = {**os.environ, "DATABASE_URL": servers.database, "SECRET_KEY": "t",
           "DJANGO_SETTINGS_MODULE": "facerec.settings", "DEBUG": "0"}
    kiosk_key = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "shell", "-c",
         "from attendance import services; print(services.kiosk_register(name='Fuzz door')[1])"],
        env=env, cwd=REPO, check=True, capture_output=True, text=True).stdout.split()[-1]
    before = _workers(servers)
    jobs = [(servers.urls[n % 2], kind, send, data, n, label)
            for n, (label, data) in enumerate(CORPUS)
            for kind, send in _http_endpoints(servers.auth, kiosk_key)]

    def run(job):
        base, kind, send, data, n, label = job
        try:
            response = send(base, data, n)
        except requests.RequestException as exc:  # a worker that died mid-request breaks the connection
            return f"{label}: {type(exc).__name__}"
        issue = problem(kind, response.status_code, response.headers.get("Content-Type", ""), response.content)
        return issue and f"{label} at {response.request.method} {response.url}: {issue}"

    with ThreadPoolExecutor(4) as pool:
        wrong = [issue for issue in pool.map(run, jobs) if issue]
    assert not wrong, f"{len(wrong)} of {len(jobs)} requests:\n" + "\n".join(wrong[:40])
    assert _workers(servers) == before, "a gunicorn worker died and was replaced"
    for url in servers.urls:  # and each worker still recognises a real photo correctly
        answer = requests.post(url + "identify/", json={"Image": b64(photo("img2.jpg"))}, headers=servers.auth)
        assert answer.status_code == 200 and answer.json()["faces"][0]["decision"] == "E001", answer.content

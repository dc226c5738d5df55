"""Deployment hardening: HTTPS, CSP, no caching of biometric data, docs offline, bounded bodies, deletion."""

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.db import connection

from entries import services
from tests.factories import register

REPO = Path(__file__).resolve().parent.parent


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "facerec.settings", "DEBUG": "0", "ALLOWED_HOSTS": "hr.example.com",
           "SECRET_KEY": "k" * 20 + "3J8#w!x@Zq9$Lm2%Vb7^Nc4&Rt6*Yp1(Hs5)Gd0", "DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_api_docs_load_nothing_from_outside_and_run_no_inline_script(admin_client):
    for url in ("/api/docs/", "/api/redoc/"):
        response = admin_client.get(url)
        page = response.content.decode()
        assert response.status_code == 200
        assert not re.search(r"""(src|href)=["']https?://""", page), page  # no CDN, no web fonts
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert not re.search(r"<script>\s*\S", page)  # CSP forbids inline scripts: none is needed
        for asset in re.findall(r"""(?:src|href)=["']/static/([^"'?]+)""", page):
            assert finders.find(asset), asset  # shipped in a package, served by whitenoise


@pytest.mark.django_db
@pytest.mark.faces
def test_every_answer_with_a_photo_an_embedding_or_a_recognition_is_never_cached(api, admin_client, photo, settings):
    """One middleware marks them all, the 1.x API's /Data/ and /read/ included (issue 14, defect 19)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    from attendance.services import kiosk_register

    settings.FACEREC = {"REQUIRE_CONSENT": False}
    entry = register(photo, code="E001", image="img1.jpg")
    b64 = base64.b64encode(photo("img2.jpg")).decode()
    kiosk = APIClient()
    kiosk.credentials(HTTP_AUTHORIZATION=f"Kiosk {kiosk_register(name='Door', liveness='off')[1]}")
    answers = {
        "entry": api.get("/api/entries/E001/"),
        "embeddings": api.get("/api/entries/E001/?include=embeddings"),
        "registered": api.post("/api/entries/", {"Employeecode": "E002", "Name": "B", "Image": base64.b64encode(
            photo("img3.jpg")).decode()}, format="json"),
        "changed": api.patch("/api/entries/E001/", {"Name": "Ann"}, format="json"),
        "photos": api.get("/api/entries/E001/faces/"),
        "photo added": api.post("/api/entries/E001/faces/", {"Image": b64}, format="json"),
        "identify": api.post("/api/identify/", {"Image": b64}, format="json"),
        "verify": api.post("/api/verify/", {"Image": b64, "Employeecode": "E001"}, format="json"),
        "clock": kiosk.post("/api/attendance/clock/", {"Image": b64}, format="json"),
        "1.x Data": api.get("/Data/"),
        "1.x read": api.get("/read/E001"),
        "1.x recognize": api.post("/recognize_face", {"Face": SimpleUploadedFile("f.jpg", photo("img4.jpg"))},
                                  format="multipart"),
        "admin photo": admin_client.get(f"/admin/entries/faceentry/{entry.pk}/photo/"),
    }
    for name, response in answers.items():
        assert response.status_code in (200, 201), (name, response.status_code)
        assert "no-store" in response.get("Cache-Control", ""), name


def test_an_oversized_body_is_refused_before_it_is_read(client):
    response = client.generic("POST", "/admin/login/", b"x", CONTENT_LENGTH=str(200 * 1024 * 1024),
                              content_type="multipart/form-data; boundary=x")
    assert response.status_code == 413 and response.json()["code"] == "request_too_large"


@pytest.mark.django_db(transaction=True)
@pytest.mark.faces
def test_a_deleted_photo_is_not_left_readable_in_the_sqlite_files(photo):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's own files")
    data = photo("img1.jpg")
    marker = data[len(data) // 2: len(data) // 2 + 64]
    entry = register(photo, code="E001", image="img1.jpg")
    path = Path(connection.settings_dict["NAME"])
    assert marker in path.read_bytes() + Path(f"{path}-wal").read_bytes()
    services.entry_delete(entry=entry)
    leftovers = path.read_bytes() + (Path(f"{path}-wal").read_bytes() if Path(f"{path}-wal").exists() else b"")
    assert marker not in leftovers

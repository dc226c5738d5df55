"""The face model is loaded lazily: migrating and browsing the admin never import DeepFace or dlib."""

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import os, sys
os.environ.update(DJANGO_SETTINGS_MODULE="facerec.test_settings", DATABASE_URL="sqlite:///:memory:",
                  ALLOWED_HOSTS="testserver")
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.models import User
from django.test import Client
client = Client()
client.force_login(User.objects.create_superuser("a", "a@example.com", "pw"))
assert client.get("/admin/entries/faceentry/").status_code == 200
assert client.get("/api/entries/").status_code == 200
loaded = [name for name in ("dlib", "deepface", "tensorflow", "cv2") if name in sys.modules]
print(",".join(loaded) or "none")
"""


def test_migrate_admin_list_and_api_list_never_load_the_face_model():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent.parent, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "none"

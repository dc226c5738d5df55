"""What a management command prints is its own: no django-axes banner, no LiteRT log line in the progress bar."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "DJANGO_SETTINGS_MODULE": "facerec.settings", "DEBUG": "1", "DATABASE_URL": "sqlite:///:memory:"}


def run(*args, env=ENV):
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def test_a_commands_help_is_all_it_prints():
    result = run("manage.py", "import_facerec", "--help")
    assert result.stdout.startswith("usage: manage.py import_facerec") and result.stderr == ""


IMPORT = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("import_faces", sys.argv[1], glob="img1.jpg", consent_reference="form 1", workers=1)
"""


@pytest.mark.faces
def test_an_import_prints_its_progress_bar_and_summary_and_no_litert_log_line(faces_dir):
    """LiteRT's C++ writes "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." when it loads, whatever
    TF_CPP_MIN_LOG_LEVEL says; it landed inside the progress bar."""
    result = run("-c", "import sys\n" + IMPORT, str(faces_dir))
    assert "1 photos: 1 created" in result.stdout
    assert "Importing" in result.stderr  # the progress bar
    assert "INFO" not in result.stderr and "AXES" not in result.stderr + result.stdout

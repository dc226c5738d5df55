"""Each setting has one default, in its app's conf.py; the environment reaches it through settings.py."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from attendance import conf as attendance_conf
from audit import conf as audit_conf
from core import conf as core_conf
from core.conf import AppSettings
from entries import conf as entries_conf
from jobs import conf as jobs_conf

REPO = Path(__file__).resolve().parents[2]
SHOW = """
import django
django.setup()
from django.conf import settings
from attendance import conf as attendance
from audit import conf as audit
from core import conf as core
from entries import conf as entries
print(json.dumps([core.get("MAX_IMAGE_BYTES"), settings.DATA_UPLOAD_MAX_MEMORY_SIZE, entries.get("VERIFY_THRESHOLD"),
                  entries.get("REQUIRE_CONSENT"), audit.get("AUDIT_RETENTION_DAYS"), attendance.get("KEEP_SNAPSHOTS"),
                  attendance.get("SAME_CAPTURE_DIFFERENCE"), entries.get("MODEL")]))
"""


def configured(**environ):
    """What the apps read when FaceRec starts with these environment variables."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("FACEREC_", "ATTENDANCE_"))}
    env.update(environ, SECRET_KEY="t", DJANGO_SETTINGS_MODULE="facerec.settings", DATABASE_URL="sqlite:///:memory:")
    shown = subprocess.run([sys.executable, "-c", "import json\n" + SHOW], env=env, cwd=REPO, check=True,
                           capture_output=True, text=True).stdout
    return json.loads(shown.splitlines()[-1])


def test_an_environment_variable_reaches_its_app_cast_to_its_type_and_the_body_limit_follows_the_image_limit():
    assert configured(FACEREC_MAX_IMAGE_BYTES="3000", FACEREC_VERIFY_THRESHOLD="0.5", FACEREC_REQUIRE_CONSENT="0",
                      FACEREC_AUDIT_RETENTION_DAYS="9", ATTENDANCE_KEEP_SNAPSHOTS="true",
                      ATTENDANCE_SAME_CAPTURE_DIFFERENCE="0.7") == [
        3000, 3000 * 4 // 3 + 64 * 1024, 0.5, False, 9, True, 0.7, "MobileFaceNet"]


def test_unset_the_defaults_of_the_apps_conf_apply():
    assert configured() == [10 * 1024 * 1024, 10 * 1024 * 1024 * 4 // 3 + 64 * 1024, None, True, 730, False, 0.3,
                            "MobileFaceNet"]


def test_settings_py_reads_no_app_setting_itself_so_writes_no_second_default():
    source = (REPO / "facerec" / "settings.py").read_text()
    read = set(re.findall(r"""env\.\w+\(["']((?:FACEREC|ATTENDANCE|JOBS)_\w+)""", source))
    apps = {f"{conf.app_settings.namespace}_{name}" for conf in (core_conf, entries_conf, audit_conf, attendance_conf,
                                                                jobs_conf) for name in conf.DEFAULTS}
    assert read & apps == set()
    assert read <= {"FACEREC_TASKS_BACKEND"}  # a project setting (Django's TASKS), not an app's


def test_no_two_apps_claim_one_facerec_name():
    names = [set(conf.DEFAULTS) for conf in (core_conf, entries_conf, audit_conf)]
    assert jobs_conf.app_settings.namespace == "JOBS"
    assert sum(map(len, names)) == len(set.union(*names))
    assert attendance_conf.app_settings.namespace == "ATTENDANCE"


def test_override_settings_still_changes_a_setting_in_a_test():
    with override_settings(FACEREC={"TOKEN_TTL_DAYS": 1}, ATTENDANCE={"DEBOUNCE_SECONDS": 5}):
        assert core_conf.get("TOKEN_TTL_DAYS") == 1 and attendance_conf.get("DEBOUNCE_SECONDS") == 5
        assert entries_conf.get("MODEL") == "MobileFaceNet"
    assert core_conf.get("TOKEN_TTL_DAYS") == 90


def test_a_default_of_none_must_say_its_type():
    with pytest.raises(TypeError, match="THRESHOLD"):
        AppSettings("EXAMPLE", {"THRESHOLD": None})
    assert AppSettings("EXAMPLE", {"THRESHOLD": None}, types={"THRESHOLD": float}).get("THRESHOLD") is None

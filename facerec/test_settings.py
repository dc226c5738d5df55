"""Settings for the test suite: the real settings, plus a key and a fast hasher."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not shared-cache memory: parallel requests in the race tests then queue for the write
    # lock (WAL, busy timeout) as they do in production, instead of failing with "table is locked".
    import tempfile

    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"facerec-test-{os.getpid()}.sqlite3")}  # noqa: F405
JOBS = {**JOBS, "PURGE_EVERY_HOURS": 0}  # noqa: F405  (a worker started by a test purges nothing unasked)

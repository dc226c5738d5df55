"""The distributed queue: a job queued on Redis (RQ) is run by `manage.py worker` like the database queue's."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .test_jobs_worker_crash import REGISTER

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("FACEREC_TEST_REDIS_URL", "redis://127.0.0.1:6379")
TEST_DATABASES = range(10, 16)  # Redis databases these tests may take, one per concurrent run
LOCK = "facerec-test-lock"  # held in the database a run takes, until it ends (flushdb releases it)
pytestmark = pytest.mark.faces


@pytest.fixture
def redis_url():
    """A Redis database of this run's own: CI's lanes run this test at once, and an RQ worker takes any task on
    its queue, so a shared database let one lane's worker run (and lose) another lane's job."""
    import redis

    base = REDIS_URL.rstrip("/")
    try:
        redis.Redis.from_url(base, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {base} does not answer ({exc}); set FACEREC_TEST_REDIS_URL")
    for number in TEST_DATABASES:
        client = redis.Redis.from_url(f"{base}/{number}")
        if client.set(LOCK, os.getpid(), nx=True, ex=900):
            for key in client.scan_iter():  # what a killed run left queued; the lock stays held throughout
                if key != LOCK.encode():
                    client.delete(key)
            try:
                yield f"{base}/{number}"
            finally:
                client.flushdb()
            return
    pytest.fail(f"every Redis database {TEST_DATABASES.start}-{TEST_DATABASES.stop - 1} at {base} is taken")


def test_a_job_queued_on_redis_is_run_by_an_rq_worker(tmp_path, faces_dir, redis_url):
    database = tmp_path / "db.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "facerec.settings", "SECRET_KEY": "t", "DEBUG": "1",
           "DATABASE_URL": f"sqlite:///{database}", "FACEREC_REQUIRE_CONSENT": "0", "FACEREC_TASKS_BACKEND": "rq",
           "REDIS_URL": redis_url, "JOBS_CHUNK_SIZE": "2", "JOBS_PURGE_EVERY_HOURS": "0"}
    manage = [sys.executable, str(REPO / "manage.py")]
    for args in (["migrate", "-v0"], ["shell", "-c", REGISTER.format(faces=str(faces_dir), count=4)],
                 ["reembed", "--all", "--queue"], ["worker", "--batch", "-v0"]):
        subprocess.run([*manage, *args], env=env, cwd=REPO, check=True, capture_output=True, timeout=300)
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT status, done, failed, total FROM jobs_job").fetchone() == ("finished", 4, 0, 4)
        assert db.execute("SELECT count(*) FROM jobs_jobchunk WHERE status = 'done'").fetchone() == (2,)

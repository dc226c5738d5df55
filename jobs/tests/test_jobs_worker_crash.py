"""A worker killed mid-job (SIGKILL: no chance to clean up): another worker resumes it, each item done once."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.faces
REGISTER = """
from pathlib import Path
from entries import services
for number, image in enumerate(sorted(Path({faces!r}).glob("img*.jpg"))[:{count}]):
    services.entry_register(employee_code=f"E{{number:02d}}", name=f"E{{number}}", image=image.read_bytes(),
                            allow_duplicate_face=True, largest_face=True)
"""


def progress(database):
    with sqlite3.connect(database) as db:
        return db.execute("SELECT status, done, failed, total FROM jobs_job").fetchone()


def test_a_killed_workers_job_resumes_and_finishes_each_item_exactly_once(tmp_path, faces_dir):
    database = tmp_path / "db.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "facerec.settings", "SECRET_KEY": "t", "DEBUG": "1",
           "DATABASE_URL": f"sqlite:///{database}", "FACEREC_REQUIRE_CONSENT": "0",
           "FACEREC_TASKS_BACKEND": "database", "JOBS_CHUNK_SIZE": "100", "JOBS_LEASE_SECONDS": "3",
           "JOBS_SWEEP_SECONDS": "1", "JOBS_PURGE_EVERY_HOURS": "0"}
    manage = [sys.executable, str(REPO / "manage.py")]

    def run(*args):
        return subprocess.run([*manage, *args], env=env, cwd=REPO, check=True, capture_output=True, text=True)

    run("migrate", "-v0")
    run("shell", "-c", REGISTER.format(faces=str(faces_dir), count=12))
    run("reembed", "--all", "--queue")
    first = subprocess.Popen([*manage, "worker"], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while progress(database)[1] < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        first.send_signal(signal.SIGKILL)  # mid-job: a few items done, the rest not
        first.wait(timeout=10)
    finally:
        first.kill()
    status, done, failed, total = progress(database)
    assert status == "running" and 3 <= done < total == 12, (status, done, total)

    second = subprocess.Popen([*manage, "worker"], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while progress(database)[0] != "finished" and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert progress(database) == ("finished", 12, 0, 12)
    with sqlite3.connect(database) as db:
        # exactly once: one re-embedding written (and audited) per entry, none half-written
        reembedded = db.execute("SELECT employees, count(*) FROM facerec_audit WHERE action = 'update' "
                                "GROUP BY employees").fetchall()
        attempts = db.execute("SELECT attempts FROM jobs_jobchunk").fetchall()
        current = db.execute('SELECT count(*), sum(embedding_sha256 = image_sha256) FROM "faceEntries"').fetchone()
    assert len(reembedded) == 12 and {count for _, count in reembedded} == {1}, reembedded
    assert attempts == [(2,)]  # the killed worker's attempt, then the one that finished it
    assert current == (12, 12)

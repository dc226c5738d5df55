"""Re-embedding throughput on the job queue: 1 worker, 2 worker processes, 2 "hosts" (2 workers on one Redis queue).

Run: .venv/bin/python bench/jobs.py [--photos 5000]
Registers --photos real LFW photos (FACEREC_LFW_DIR, default ../shared/lfw-dev) from a prepared analysis (fast:
only the re-embedding is measured), then times `reembed --all --queue` finishing on 1 and 2 `manage.py worker`
processes: the database queue, and RQ on Redis (REDIS_URL) when one answers. Ratios are against the 1-worker
baseline measured in the same run; with 2 cores, 2 workers can at most be about 2x.
"""

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LFW_DIR = Path(os.environ.get("FACEREC_LFW_DIR", REPO.parent / "shared" / "lfw-dev"))
REGISTER = """
import dataclasses, hashlib, sys
from pathlib import Path
from entries import services
from entries.recognition import faces
photos = sorted(Path({lfw!r}).glob("images/*/*.jpg"))[:{count}]
prepared = faces.analyse(photos[0].read_bytes(), largest_face=True, check_quality=False)
for number, path in enumerate(photos):
    image = path.read_bytes()
    face = dataclasses.replace(prepared, image=image, sha256=hashlib.sha256(image).hexdigest())
    services.entry_register(employee_code=f"L{{number:05d}}", name=path.parent.name, image=image, face=face,
                            allow_duplicate_face=True)
"""


def redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


def run(database: Path, env: dict, workers: int) -> float:
    """Seconds from queueing the re-embed of every entry to its job finishing on `workers` workers."""
    manage = [sys.executable, str(REPO / "manage.py")]
    procs = [subprocess.Popen([*manage, "worker", "-v0"], env=env, cwd=REPO) for _ in range(workers)]
    try:
        time.sleep(8)  # let every worker load the engine before the clock starts
        started = time.monotonic()
        subprocess.run([*manage, "reembed", "--all", "--queue"], env=env, cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        while True:
            with sqlite3.connect(database) as db:
                status, = db.execute("SELECT status FROM jobs_job ORDER BY id DESC LIMIT 1").fetchone()
            if status == "finished":
                return time.monotonic() - started
            time.sleep(0.25)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=5000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="facerec-bench-jobs-"))
    database = folder / "db.sqlite3"
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "facerec.settings", "SECRET_KEY": "bench", "DEBUG": "1",
           "DATABASE_URL": f"sqlite:///{database}", "FACEREC_REQUIRE_CONSENT": "0", "JOBS_PURGE_EVERY_HOURS": "0",
           "REDIS_URL": redis_url}
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=REPO, check=True)
    subprocess.run([*manage, "shell", "-c", REGISTER.format(lfw=str(LFW_DIR), count=args.photos)], env=env,
                   cwd=REPO, check=True)
    with sqlite3.connect(database) as db:
        photos, = db.execute('SELECT count(*) FROM "faceEntries"').fetchone()
    print(f"{photos} LFW photos, one per entry, re-embedded with the real engine")
    setups = [("1 worker (database queue)", "database", 1), ("2 worker processes (database queue)", "database", 2)]
    if redis_answers(redis_url):
        setups += [("1 worker (RQ on Redis)", "rq", 1), ('2 "hosts": 2 workers on one Redis queue', "rq", 2)]
    else:
        print(f"Redis at {redis_url} does not answer: RQ not measured")
    baseline = None
    for name, backend, workers in setups:
        seconds = run(database, {**env, "FACEREC_TASKS_BACKEND": backend}, workers)
        rate = photos / seconds
        baseline = baseline or rate
        print(f"{name:45s} {seconds:7.1f} s  {rate:6.2f} photos/s  {rate / baseline:4.2f}x")


if __name__ == "__main__":
    main()

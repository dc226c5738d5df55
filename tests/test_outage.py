"""A database restart mid-traffic: while it is down every answer is JSON 503, and service resumes by itself.

Runs a private PostgreSQL cluster (initdb as the postgres user) so the shared server is never restarted.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from tests import live
from tests.live import REPO, free_port

BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    BIN is None or os.geteuid() != 0 or not shutil.which("runuser"),
    reason="needs PostgreSQL's server binaries and root (to run them as the postgres user)")]


def as_postgres(*command, **kwargs):
    return subprocess.run(["runuser", "-u", "postgres", "--", *map(str, command)], check=True,
                          capture_output=True, text=True, **kwargs)


@pytest.fixture
def private_postgres():
    root = Path(tempfile.mkdtemp(prefix="facerec-pg-"))  # pytest's own tmp folders are closed to other users
    root.chmod(0o755)
    data = root / "pg"
    data.mkdir()
    shutil.chown(data, "postgres")
    as_postgres(BIN / "initdb", "-D", data, "-A", "trust", "-U", "postgres")
    port = free_port()
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    as_postgres(BIN / "pg_ctl", "-D", data, "-o", options, "-l", data / "log", "-w", "start")
    url = f"postgres://postgres@127.0.0.1:{port}"
    import psycopg

    with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE facerec")
    yield f"{url}/facerec", lambda: as_postgres(BIN / "pg_ctl", "-D", data, "-o", options, "-l", data / "log",
                                                "-w", "-m", "fast", "restart")
    as_postgres(BIN / "pg_ctl", "-D", data, "-m", "immediate", "stop")
    shutil.rmtree(root, ignore_errors=True)


def test_a_database_restart_mid_traffic_answers_json_503_then_recovers(private_postgres):
    url, restart = private_postgres
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "t", "DJANGO_SETTINGS_MODULE": "facerec.settings",
           "ALLOWED_HOSTS": "127.0.0.1", "DEBUG": "0", "SECURE_SSL_REDIRECT": "0", "THROTTLE_USER": "100000/min"}
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=REPO)
    token = subprocess.run(
        [*manage, "shell", "-c", "from django.contrib.auth.models import User; "
         "from rest_framework.authtoken.models import Token; "
         "print(Token.objects.create(user=User.objects.create_superuser('ops', 'o@x.org', 'pw')).key)"],
        env=env, check=True, cwd=REPO, capture_output=True, text=True).stdout.split()[-1]
    answers, stop = [], threading.Event()
    headers = {"Authorization": f"Token {token}"}

    def traffic(api):
        session = requests.Session()
        while not stop.is_set():
            try:
                response = session.get(api, headers=headers, timeout=10)
                answers.append((time.monotonic(), response.status_code, response.headers.get("Content-Type", "")))
            except requests.RequestException:
                time.sleep(0.1)

    with live.gunicorn(env, workers=2, timeout=30) as server:
        clients = [threading.Thread(target=traffic, args=(f"{server.url}/api/entries/",)) for _ in range(2)]
        for client in clients:
            client.start()
        try:
            time.sleep(1)
            restart()  # returns once PostgreSQL accepts connections again
            back = time.monotonic()
            time.sleep(4)
        finally:
            stop.set()
            for client in clients:
                client.join(30)
    statuses = {status for _, status, _ in answers}
    assert statuses <= {200, 503}, statuses  # never an HTML 500
    assert all(kind.startswith("application/json") for _, _, kind in answers)
    after = [status for at, status, _ in answers if at > back + 2]
    assert after and set(after) == {200}  # recovered by itself, no restart of FaceRec

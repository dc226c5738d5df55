"""Load: N concurrent identify clients against gunicorn on loopback; throughput, latency and errors.

Run: .venv/bin/python bench/load.py [--clients 8] [--requests 200] [--workers 2]
A throwaway SQLite database gets the shared photos' 13 people; gunicorn serves it on 127.0.0.1 with
--workers processes; each client (its own thread and connection) sends --requests identify calls with
a real photo and checks every answer. Bounded in count and time, loopback only. Throttling is raised
for the run (THROTTLE_RECOGNITION), as a deployment with this many kiosks would set it.

Then the worst images the server accepts (small files declaring as many pixels as each format's cap allows,
no face in them) are sent one at a time: the servers' CPU per request (from /proc) against a real photo's
bounds what one request can cost, and with the recognition throttle what one user can cost a minute.
"""

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import FACES_DIR, REPO, gunicorn, record, server_env  # noqa: E402
from decode import hostile  # noqa: E402

PROBES = ["img2.jpg", "img9.jpg", "img17.jpg", "img38.jpg"]  # three enrolled people's other photos, a stranger
# The dearest accepted images: a JPEG at the 40 MP cap (decoded at 1/8 scale), the others at the 25 MP cap of
# formats decoded in full; and a PNG over that cap (refused before decoding).
WORST = [("JPEG", 6300), ("PNG", 5000), ("WEBP", 5000), ("HEIF", 5000), ("PNG", 6300)]


def server_cpu(url: str) -> float:
    """CPU seconds used so far by the gunicorn master and workers bound to this URL's port."""
    bind, total = url.removeprefix("http://").encode(), 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if bind in Path(f"/proc/{pid}/cmdline").read_bytes():
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        except OSError:  # the process ended meanwhile
            pass
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="facerec-load-"))
    env = server_env(folder, THROTTLE_RECOGNITION="1000000/min", THROTTLE_USER="1000000/min")
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=REPO, check=True)
    people = folder / "people"
    people.mkdir()
    for name in ("img1.jpg", "img3.jpg", "img8.jpg", "img13.jpg", "img16.jpg", "img18.jpg", "img20.jpg"):
        (people / name).symlink_to(FACES_DIR / name)
    subprocess.run([*manage, "import_faces", str(people), "--no-progress", "--consent-reference", "load test"],
                   env=env, cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([*manage, "shell", "-c", "from django.contrib.auth.models import User; "
                    "User.objects.create_superuser('load', 'l@x.org', 'pw')"], env=env, cwd=REPO, check=True)
    token = subprocess.run([*manage, "drf_create_token", "load"], env=env, cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split()[2]
    bodies = [{"Image": base64.b64encode((FACES_DIR / name).read_bytes()).decode()} for name in PROBES]
    headers = {"Authorization": f"Token {token}"}
    with gunicorn(env, args.workers) as server:
        url = f"{server}/api/identify/"
        for _ in range(1 + 2 * args.workers):  # warm every worker up
            requests.post(url, json=bodies[0], headers=headers, timeout=30)
        seconds, errors, lock = [], [], threading.Lock()

        def client(number):
            session = requests.Session()
            for i in range(args.requests):
                body = bodies[(number + i) % len(bodies)]
                start = time.perf_counter()
                try:
                    response = session.post(url, json=body, headers=headers, timeout=60)
                    ok = response.status_code == 200 and response.json()["faces"]
                except (requests.RequestException, ValueError, KeyError) as exc:
                    ok, response = False, exc
                with lock:
                    seconds.append(time.perf_counter() - start)
                    if not ok:
                        errors.append(getattr(response, "status_code", str(response)))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        started, cpu_started = time.perf_counter(), server_cpu(server)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        per_photo = (server_cpu(server) - cpu_started) / len(seconds)
        worst = []
        for fmt, side in WORST:
            body = {"Image": base64.b64encode(hostile(side, fmt)).decode()}
            before, answers = server_cpu(server), []
            for _ in range(4):
                response = requests.post(url, json=body, headers=headers, timeout=120)
                answers.append(response.status_code)
                if response.status_code >= 500 or "code" not in response.json():
                    errors.append(f"{fmt} {side}px: {response.status_code}")
            worst.append((fmt, side, len(body["Image"]) * 3 // 4, (server_cpu(server) - before) / 4, answers[0]))
    ms = np.array(seconds) * 1000
    out = []
    out.append(f"{args.clients} clients x {args.requests} identify requests, gunicorn --workers {args.workers}, "
               f"SQLite, 7 enrolled, photos of 1-3 MP")
    out.append(f"throughput {len(seconds) / elapsed:.1f} requests/s over {elapsed:.1f} s; "
               f"latency p50 {np.median(ms):.0f} ms, p95 {np.percentile(ms, 95):.0f} ms; errors {len(errors)}"
               + (f" ({sorted(set(map(str, errors)))})" if errors else ""))
    out.append(f"server CPU per request: a real photo {per_photo * 1000:.0f} ms (= 1.0x below)")
    for fmt, side, size, cost, status in worst:
        out.append(f"  - {fmt} {side}x{side} ({side * side / 1e6:.0f} MP, {size // 1024} KB, answered {status}): "
                   f"{cost * 1000:.0f} ms, {cost / per_photo:.1f}x")
    dearest = max(cost for *_, cost, status in worst if status != 413)
    rate = 240  # THROTTLE_RECOGNITION's default (facerec/settings.py), per user
    out.append(f"bound: the dearest accepted image costs {dearest:.1f} s of CPU per request; at the default "
               f"recognition throttle ({rate}/min per user) one user can cost at most {dearest * rate / 60:.1f} "
               "CPU-seconds a second")
    rate_done = len(seconds) / elapsed
    record("load", "\n".join(line if line.startswith("  - ") else f"- {line}" for line in out),
           f"`bench/load.py` ({args.clients} clients, gunicorn with {args.workers} workers): {rate_done:.1f} identify "
           f"requests/s, p95 {np.percentile(ms, 95):.0f} ms, {len(errors)} errors")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()

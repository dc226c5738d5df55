"""Bulk-import throughput on about 1 MP photos: all cores against one, same photos, same run.

Run: .venv/bin/python bench/bulk_import.py
The shared photos are resized to about 1 MP (in a temporary folder, never in the repository)
and imported with `import_faces --workers 1`, then `--workers N` (all cores) into fresh databases.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import FACES_DIR, REPO, record  # noqa: E402


def one_megapixel_copies(folder: Path, copies: int = 3) -> int:
    """Each shared photo at about 1 MP, `copies` times (slightly different crops), to amortise start-up."""
    count = 0
    for path in sorted(FACES_DIR.glob("img*.jpg")):
        image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        for copy in range(copies):
            cropped = image.crop((copy * 4, copy * 4, image.width - copy * 4, image.height - copy * 4))
            scale = (1_000_000 / (cropped.width * cropped.height)) ** 0.5
            cropped = cropped.resize((round(cropped.width * scale), round(cropped.height * scale)))
            cropped.save(folder / f"{path.stem}_{copy}.jpg", quality=90)
            count += 1
    return count


def run_import(folder: Path, workers: int) -> float:
    env = {**os.environ, "SECRET_KEY": "bench", "DJANGO_SETTINGS_MODULE": "facerec.settings",
           "DATABASE_URL": f"sqlite:///{tempfile.mkdtemp(prefix='facerec-import-')}/db.sqlite3"}
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    start = time.perf_counter()
    subprocess.run([*manage, "import_faces", str(folder), "--workers", str(workers), "--no-progress",
                    "--allow-duplicate-faces", "--largest-face",
                    "--consent-reference", "benchmark"], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    folder = Path(tempfile.mkdtemp(prefix="facerec-1mp-"))
    count = one_megapixel_copies(folder)
    cores = len(os.sched_getaffinity(0))
    one = run_import(folder, 1)
    every = run_import(folder, cores)
    record("bulk_import", "\n".join([
        f"- {count} photos of about 1 MP (command start to exit, model loading included)",
        f"- `import_faces --workers 1`: {count / one:.1f} photos/s ({one:.1f} s)",
        f"- `import_faces --workers {cores}`: **{count / every:.1f} photos/s** ({every:.1f} s), {one / every:.2f}x "
        "one worker",
    ]), f"bulk import of 1 MP photos: {count / every:.1f} photos/s on {cores} cores")

if __name__ == "__main__":
    main()

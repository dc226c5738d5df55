"""In a real browser: HR imports a ZIP of 30 people from the LFW development set through the admin and watches
the import's progress bar reach the end, with what became of each photo.

A worker runs the job in a thread beside the live server (jobs.services.job_run_here, as `manage.py worker`
would run its chunks). The page polls the job with its static script (the admin's CSP allows no inline script).
The finished page is saved as docs/screenshots/import-progress.png for the docs.
"""

import threading
import time
import zipfile
from pathlib import Path

import pytest
from django.db import connections

from entries.models import FaceEntry
from jobs.models import Job
from jobs.services import job_run_here
from tests.test_browser import browser_for  # noqa: F401  (the fixture)

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "import-progress.png"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.lfw, pytest.mark.browser]


def lfw_archive(lfw_dir: Path, path: Path, people: int = 30) -> Path:
    """A ZIP with a folder per person (the LFW name is a valid employee code): the first `people` in name order
    with two photos, then one each from people with a single photo, so some employees get more photos."""
    folders = sorted(p for p in (lfw_dir / "images").iterdir() if p.is_dir())
    pairs = [f for f in folders if len(list(f.glob("*.jpg"))) >= 2][:people // 2]
    singles = [f for f in folders if f not in pairs][:people - len(pairs)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder in pairs + singles:
            for photo in sorted(folder.glob("*.jpg"))[:2 if folder in pairs else 1]:
                archive.write(photo, f"staff/{folder.name}/{photo.name}")
    return path


def worker(stop: threading.Event) -> threading.Thread:
    """A worker that runs every import job as it is queued, until stopped."""

    def run():
        try:
            while not stop.is_set():
                for job in Job.objects.exclude(status=Job.Status.FINISHED):
                    job_run_here(job)
                time.sleep(0.2)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="test-worker", daemon=True)
    thread.start()
    return thread


def test_hr_imports_a_zip_of_30_people_and_watches_the_progress_bar_reach_the_end(
        browser_for, live_server, lfw_dir, settings, tmp_path):  # noqa: F811
    from django.contrib.auth.models import User

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain HTTP on loopback
    settings.FACEREC = {**settings.FACEREC, "IMPORTS_DIR": str(tmp_path / "imports")}
    archive = lfw_archive(lfw_dir, tmp_path / "staff.zip")
    with zipfile.ZipFile(archive) as opened:
        photos = len(opened.namelist())
    User.objects.create_superuser("hr", "hr@example.com", "pw")
    page = browser_for(None)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "hr")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/entries/faceentry/")
    page.click("text=Import a ZIP")
    page.set_input_files("#id_archive", str(archive))
    page.fill("#id_consent_reference", "consent forms, batch 7")
    stop = threading.Event()
    thread = worker(stop)
    try:
        page.click("#import-form input[type=submit]")
        page.locator("#import-progress").wait_for()
        page.locator("#import-status").filter(has_text="finished").wait_for(timeout=300_000)
        assert page.locator("#import-bar").evaluate("bar => bar.value") == 100
        job = Job.objects.get()
        check_report(page, job, photos)
        if job.failed:  # LFW photos with a second face in the background: the largest face is the person
            page.check("#id_largest_face")
            page.click("input[value='Retry the failed photos']")
            page.locator("#content-main").filter(has_text=f"Retrying the failed photos of import {job.pk}").wait_for()
            page.locator("#import-status").filter(has_text="finished").wait_for(timeout=300_000)
            retry = Job.objects.exclude(pk=job.pk).get()
            assert retry.total == job.failed and retry.done >= 1
    finally:
        stop.set()
        thread.join(timeout=60)
    assert FaceEntry.objects.count() >= 28  # 30 people; a false duplicate face may refuse one or two


def check_report(page, job, photos: int) -> None:
    """The finished page: a row per photo, the failures first with why; saved as the docs' screenshot."""
    assert (job.total, job.done + job.failed) == (photos, photos)
    rows = page.locator("#import-report tbody tr")
    assert rows.count() == photos
    results = rows.locator("td:nth-child(3)").all_inner_texts()
    assert set(results) <= {"imported", "failed"} and results.count("imported") == job.done
    if job.failed:  # the failures come first, with why, and can be retried
        assert rows.first.locator("td:nth-child(3)").inner_text() == "failed"
        page.locator("input[value='Retry the failed photos']").wait_for()
    page.click("#toggle-nav-sidebar")  # the page itself, for the screenshot
    page.evaluate("window.scrollTo(0, 0)")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

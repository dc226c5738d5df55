"""Long work runs as jobs on the task queue: started at once, run by workers a chunk at a time, progress kept."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from entries import services
from entries.exceptions import NoFaceFound
from entries.models import FaceEntry
from entries.recognition import faces
from facerec import databases
from jobs import runner
from jobs import services as jobs
from jobs.models import Job, JobChunk, JobItem
from tests.factories import register

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faces]


def work():
    """Run every queued chunk in a worker here (the database backend's worker, in batch mode)."""
    call_command("worker", "--batch", verbosity=0, stdout=StringIO())


@pytest.fixture
def engine_once_per_photo(monkeypatch):
    """The real engine, run once per distinct photo: a thousand entries share a few real faces."""
    analyse, seen, calls = faces.analyse, {}, []

    def once(image, **options):
        key = (bytes(image), tuple(sorted(options.items())))
        if key not in seen:
            calls.append(key)
            seen[key] = analyse(image, **options)
        return seen[key]

    monkeypatch.setattr(faces, "analyse", once)
    return calls


def test_recalculate_embeddings_answers_202_and_its_job_reembeds_1000_entries(api, photo, settings,
                                                                              engine_once_per_photo):
    # SecantusDB, the MongoDB test server, is written in Python and registers about one entry a second once a
    # few hundred are stored: 200 there show the same job (8 chunks) in the suite's time; 1,000 elsewhere.
    count = 200 if databases.is_mongo(settings.DATABASES["default"]) else 1000
    settings.FACEREC = {"REQUIRE_CONSENT": False}
    images = ["img1.jpg", "img2.jpg", "img3.jpg", "img4.jpg", "img5.jpg"]
    prepared = {name: faces.analyse(photo(name), largest_face=True) for name in images}
    for number in range(count):  # registered from a prepared analysis: fast
        face = prepared[images[number % len(images)]]
        services.entry_register(employee_code=f"E{number:04d}", name=f"Employee {number}", image=face.image,
                                face=face, allow_duplicate_face=True)
    registered = timezone.now()

    started = api.post("/recalculate_embeddings")

    assert started.status_code == 202, started.content
    body = started.json()
    assert body["status"] == "queued" and body["total"] == count and started["Location"] in body["url"]
    assert not FaceEntry.objects.filter(updated_at__gt=registered).exists()  # nothing done in the request
    work()
    polled = api.get(started["Location"]).json()
    assert (polled["status"], polled["done"], polled["failed"], polled["failures"]) == ("finished", count, 0, [])
    assert not FaceEntry.objects.filter(updated_at__lte=registered).exists()  # every entry re-embedded
    assert len(engine_once_per_photo) == len(images) * 2  # the real engine ran on every real photo
    assert JobChunk.objects.filter(job_id=body["job"]).count() == count // 25  # 25 a chunk: two workers would share it


def test_a_failed_item_is_listed_with_its_reason_and_the_rest_is_done(api, photo, no_face_jpeg, monkeypatch):
    register(photo, "E1")
    register(photo, "E2", image="img38.jpg")
    analyse = faces.analyse

    def no_face_for_e2(image, **options):
        if bytes(image) == photo("img38.jpg"):
            raise NoFaceFound("No face found in the image.")
        return analyse(image, **options)

    monkeypatch.setattr(faces, "analyse", no_face_for_e2)
    job = services.entries_reembed_start()
    work()

    answer = api.get(f"/api/jobs/{job.pk}/").json()
    assert (answer["status"], answer["done"], answer["failed"]) == ("finished", 1, 1)
    assert answer["failures"] == [{"item": "E2", "code": "no_face", "reason": "No face found in the image."}]


def test_jobs_are_shown_to_those_allowed_and_to_whoever_started_them(client, django_user_model, photo):
    register(photo, "E1")
    owner = django_user_model.objects.create_user("owner")
    other = django_user_model.objects.create_user("other")
    job = services.entries_reembed_start(created_by=owner)
    client.force_login(other)
    assert client.get(f"/api/jobs/{job.pk}/").status_code == 404
    assert client.get("/api/jobs/").json()["count"] == 0
    client.force_login(owner)
    assert client.get(f"/api/jobs/{job.pk}/").json()["total"] == 1
    client.logout()
    assert client.get("/api/jobs/").status_code in (401, 403)


def test_the_admin_lists_jobs_with_their_progress_and_failures(admin_client, photo):
    register(photo, "E1")
    job = services.entries_reembed_start()
    work()
    listing = admin_client.get("/admin/jobs/job/")
    assert listing.status_code == 200 and b"1 of 1" in listing.content
    assert admin_client.get(f"/admin/jobs/job/{job.pk}/change/").status_code == 200
    assert admin_client.get("/admin/jobs/job/add/").status_code == 403


def test_a_chunk_whose_worker_died_is_handed_on_and_counts_each_item_once(photo, settings):
    settings.JOBS = {"CHUNK_SIZE": 1, "LEASE_SECONDS": 60, "PURGE_EVERY_HOURS": 0}
    register(photo, "E1")
    register(photo, "E2", image="img38.jpg")
    job = services.entries_reembed_start(queue=False)
    # a worker took chunk 0, did its item, and died before it could say the chunk was done
    runner.chunk_run(job_id=str(job.pk), number=0, worker="dead:1")
    JobChunk.objects.filter(job=job, number=0).update(status=JobChunk.Status.RUNNING, lease_until="2000-01-01T00:00Z")
    assert jobs.jobs_sweep() == 1 and jobs.jobs_sweep() == 0  # queued again once, however many workers sweep
    runner.chunk_run(job_id=str(job.pk), number=1)
    work()
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("finished", 2, 0)
    assert JobItem.objects.filter(job=job, status=JobItem.Status.DONE).count() == 2


def test_the_reembed_command_runs_its_job_here(photo):
    register(photo, "E1")
    out = StringIO()
    call_command("reembed", "--all", "--no-progress", stdout=out)
    assert "Re-embedded 1 of 1" in out.getvalue()
    assert Job.objects.get().status == Job.Status.FINISHED


def test_the_purges_are_one_job_a_day_however_many_workers_ask(settings):
    settings.JOBS = {"PURGE_EVERY_HOURS": 24}
    now = timezone.now()
    started = jobs.schedule_due(now=now)
    assert jobs.schedule_due(now=now) is None  # another worker, the same moment
    assert jobs.schedule_due(now=now + timedelta(hours=23)) is None
    work()
    started.refresh_from_db()
    assert (started.kind, started.status, started.done, started.total) == ("purge", "finished", 4, 4)  # + imports
    assert jobs.schedule_due(now=now + timedelta(hours=24)).kind == "purge"


def test_an_id_no_job_could_have_is_a_404(api):
    for path in ("/api/jobs/abc/", "/api/jobs/0/", "/api/jobs/ffffffffffffffffffffffff/"):
        assert api.get(path).status_code == 404, path


def test_an_import_job_adds_an_employees_later_photos_to_the_first_and_a_rerun_duplicates_nothing(photo, tmp_path,
                                                                                                   settings):
    from entries.jobs import import_start

    settings.FACEREC = {"REQUIRE_CONSENT": False}
    (tmp_path / "E1").mkdir()
    for name in ("img1.jpg", "img2.jpg", "img4.jpg"):  # one person's photos: the first is the main one
        (tmp_path / "E1" / name).write_bytes(photo(name))
    for _ in range(2):
        job = import_start(source=tmp_path)
        work()
        job.refresh_from_db()
        assert (job.status, job.done, job.failed) == ("finished", 3, 0)
        entry = FaceEntry.objects.get(employee_code="E1")
        assert entry.image_sha256 == faces.digest(photo("img1.jpg"))
        assert entry.photos.count() == 2

"""Starting jobs, running their chunks, and handing on the chunks of workers that died."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from facerec import databases

from . import conf, registry, runner, tasks
from .models import Job, JobChunk, JobItem, Schedule

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    """An item to put in a job; items of one group go in one chunk, in this order (an employee's photos)."""

    key: str
    label: str = ""
    group: str = ""


def job_start(*, kind: str, items: list[Item], params: dict | None = None, created_by=None,
              queue: bool = True) -> Job:
    """Record a job with its items and chunks, and queue its chunks once that is committed (unless the
    caller runs them itself: job_run_here)."""
    registry.get(kind)  # an unknown kind fails here, not on a worker
    size = conf.get("CHUNK_SIZE")
    with databases.atomic():
        job = Job.objects.create(kind=kind, params=params or {}, total=len(items),
                                 created_by=created_by if getattr(created_by, "pk", None) else None)
        rows, number, in_chunk, group = [], 0, 0, object()
        for item in items:
            if in_chunk >= size and (item.group or item.key) != group:
                number, in_chunk = number + 1, 0
            rows.append(JobItem(job=job, chunk=number, key=item.key, label=item.label[:200]))
            in_chunk, group = in_chunk + 1, item.group or item.key
        JobItem.objects.bulk_create(rows, batch_size=1000)
        chunks = number + 1 if rows else 0
        JobChunk.objects.bulk_create([JobChunk(job=job, number=n) for n in range(chunks)])
        if not rows:
            Job.objects.filter(pk=job.pk).update(status=Job.Status.FINISHED, finished_at=timezone.now())
            job.refresh_from_db()
        if queue:
            def enqueue_all() -> None:
                for chunk in range(chunks):
                    _enqueue(job.pk, chunk)

            transaction.on_commit(enqueue_all)
    return job


def _enqueue(job_id, number: int) -> None:
    tasks.run_chunk.enqueue(job_id=str(job_id), number=number)


def jobs_sweep() -> int:
    """Queue again each chunk whose worker's lease ran out (it died, or its host did); return how many."""
    handed_on = 0
    stale = JobChunk.objects.filter(status=JobChunk.Status.RUNNING, lease_until__lt=timezone.now())
    for chunk in stale.values("pk", "job_id", "number", "worker"):
        # Conditional, so that of several workers sweeping at once only one queues it again.
        if JobChunk.objects.filter(pk=chunk["pk"], status=JobChunk.Status.RUNNING,
                                   lease_until__lt=timezone.now()).update(status=JobChunk.Status.PENDING):
            logger.warning("Chunk %s of job %s: worker %s stopped; queued again", chunk["number"],
                           chunk["job_id"], chunk["worker"])
            _enqueue(chunk["job_id"], chunk["number"])
            handed_on += 1
    return handed_on


def jobs_requeue() -> int:
    """Queue every unfinished chunk again (after the queue itself lost them, e.g. Redis was emptied)."""
    chunks = list(JobChunk.objects.exclude(status=JobChunk.Status.DONE).values_list("job_id", "number"))
    for job_id, number in chunks:
        _enqueue(job_id, number)
    return len(chunks)


def schedule_due(*, now=None) -> Job | None:
    """Start the purge job when it is due (every JOBS PURGE_EVERY_HOURS); of several workers, one starts it."""
    hours = conf.get("PURGE_EVERY_HOURS")
    if not hours:
        return None
    now = now or timezone.now()
    if not Schedule.objects.filter(name="purge").exists():
        try:
            with databases.atomic():
                Schedule.objects.create(name="purge", next_run_at=now)
        except IntegrityError:
            pass  # another worker made it first
    if not Schedule.objects.filter(name="purge", next_run_at__lte=now).update(
            next_run_at=now + timedelta(hours=hours)):
        return None
    return job_start(kind="purge", items=[Item(key=name) for name in conf.get("PURGE_COMMANDS")])


def job_run_here(job: Job, progress=None) -> Job:
    """Run a job's chunks in this process (a command in the foreground), beside any workers; wait for it."""
    for number in JobChunk.objects.filter(job=job).order_by("number").values_list("number", flat=True):
        runner.chunk_run(job_id=str(job.pk), number=number)
        if progress:
            progress(Job.objects.get(pk=job.pk))
    while (job := Job.objects.get(pk=job.pk)).status != Job.Status.FINISHED:  # chunks a worker took: wait
        jobs_sweep()
        time.sleep(1)
    return job

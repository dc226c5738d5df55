"""Starting jobs, running their chunks, and handing on the chunks of workers that died."""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from facerec import databases

from . import conf, registry
from .models import Job, JobChunk, JobItem, Schedule

logger = logging.getLogger(__name__)
WORKER = f"{socket.gethostname()}:{os.getpid()}"


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
    from .tasks import run_chunk

    run_chunk.enqueue(job_id=str(job_id), number=number)


def chunk_run(*, job_id: str, number: int, worker: str = WORKER) -> dict:
    """Run a chunk's unfinished items, unless another live worker holds it or it is done."""
    now = timezone.now()
    lease = timedelta(seconds=conf.get("LEASE_SECONDS"))
    free = Q(status=JobChunk.Status.PENDING) | Q(status=JobChunk.Status.RUNNING, lease_until__lt=now)
    # One conditional update: atomic on each store (one row, one document), so one worker wins.
    claimed = (JobChunk.objects.filter(free, job_id=job_id, number=number)
               .update(status=JobChunk.Status.RUNNING, worker=worker, lease_until=now + lease,
                       attempts=F("attempts") + 1))
    if not claimed:
        return {"ran": 0}
    chunk = JobChunk.objects.select_related("job").get(job_id=job_id, number=number)
    job = chunk.job
    Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(status=Job.Status.RUNNING, started_at=now)
    pending = list(JobItem.objects.filter(job=job, chunk=number, status=JobItem.Status.PENDING).order_by("pk"))
    if chunk.attempts > conf.get("MAX_ATTEMPTS"):
        for item in pending:  # each attempt died on this chunk: stop trying, say so
            _fail(item, "interrupted", f"its worker stopped {conf.get('MAX_ATTEMPTS')} times during this chunk")
        pending = []
    kind = registry.get(job.kind)
    for item in pending:
        _run_item(kind, job, item)
    JobChunk.objects.filter(pk=chunk.pk, worker=worker).update(status=JobChunk.Status.DONE, lease_until=None)
    if not JobChunk.objects.filter(job=job).exclude(status=JobChunk.Status.DONE).exists():
        Job.objects.filter(pk=job.pk).exclude(status=Job.Status.FINISHED).update(
            status=Job.Status.FINISHED, finished_at=timezone.now())
    return {"ran": len(pending)}


def _run_item(kind, job: Job, item: JobItem) -> None:
    recorded = []

    def record():
        if not _record(item, JobItem.Status.DONE):
            raise AlreadyRecorded  # another worker did it meanwhile: roll this copy of the work back
        recorded.append(True)

    try:
        kind.run(job=job, item=item, record=record)
    except AlreadyRecorded:
        return
    except Exception as exc:
        if not (hasattr(exc, "code") and hasattr(exc, "message")):
            raise  # a crash, not a verdict on the item: the chunk is tried again later
        _fail(item, exc.code, exc.message)
        return
    if not recorded:
        with databases.atomic():
            _record(item, JobItem.Status.DONE)


def _fail(item: JobItem, code: str, reason: str) -> None:
    with databases.atomic():
        _record(item, JobItem.Status.FAILED, code=code, reason=reason[:2000])


class AlreadyRecorded(Exception):
    pass


def _record(item: JobItem, status: str, **fields) -> bool:
    """Mark an item done or failed and count it, once (inside the caller's transaction); renew the lease.

    Return whether this call recorded it (False: it was recorded already).
    """
    lease_until = timezone.now() + timedelta(seconds=conf.get("LEASE_SECONDS"))
    JobChunk.objects.filter(job_id=item.job_id, number=item.chunk).update(lease_until=lease_until)
    if not JobItem.objects.filter(pk=item.pk, status=JobItem.Status.PENDING).update(status=status, **fields):
        return False
    counter = "done" if status == JobItem.Status.DONE else "failed"
    Job.objects.filter(pk=item.job_id).update(**{counter: F(counter) + 1})
    return True


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
        chunk_run(job_id=str(job.pk), number=number)
        if progress:
            progress(Job.objects.get(pk=job.pk))
    while (job := Job.objects.get(pk=job.pk)).status != Job.Status.FINISHED:  # chunks a worker took: wait
        jobs_sweep()
        time.sleep(1)
    return job

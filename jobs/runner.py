"""Running a chunk of a job, as a worker does: claim it under a lease, do each item, record it once.

The queue's task (jobs.tasks) and a command in the foreground (services.job_run_here) both call chunk_run;
starting, sweeping and scheduling jobs is jobs.services, which enqueues through jobs.tasks.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone

from facerec import databases

from . import conf, registry
from .models import Job, JobChunk, JobItem

WORKER = f"{socket.gethostname()}:{os.getpid()}"


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

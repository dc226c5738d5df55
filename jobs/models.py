from django.conf import settings
from django.db import models


class Job(models.Model):
    """Long work, split into items (an entry to re-embed, a photo to import) taken by workers a chunk at a time."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        FINISHED = "finished"  # every item done or failed: `failed` says how many failed

    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self):
        return f"{self.kind} {self.pk} ({self.status}, {self.done + self.failed}/{self.total})"


class JobChunk(models.Model):
    """Items one worker takes at once; its lease tells whether that worker is still alive."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="jobs_chunk_unique_number")]
        indexes = [models.Index(fields=["status", "lease_until"])]

    def __str__(self):
        return f"chunk {self.number} of job {self.job_id}"


class JobItem(models.Model):
    """One unit of a job; its status changes in the same transaction as the work it records."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    chunk = models.PositiveIntegerField()
    key = models.CharField(max_length=200)  # what the job's kind needs to find the item: a pk, a row number
    label = models.CharField(max_length=200, blank=True)  # what people recognise it by: an employee code, a file
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    code = models.CharField(max_length=50, blank=True)  # why it failed, for machines (no_face, interrupted)
    reason = models.TextField(blank=True)  # ...and for people

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "key"], name="jobs_item_unique_key")]
        indexes = [models.Index(fields=["job", "chunk", "status"])]

    def __str__(self):
        return f"{self.label or self.key} ({self.status})"


class Schedule(models.Model):
    """When a periodic job is next due; workers take it with a conditional update, so it starts once."""

    name = models.CharField(max_length=40, unique=True)
    next_run_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.next_run_at:%Y-%m-%d %H:%M}"

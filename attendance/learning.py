"""Self-improving templates: a kiosk's confident, undoubted face clocking teaches the employee's face.

The kiosk's answer is decided first; then, in the clocking's transaction, cheap checks decide whether its frame
is worth learning from (one query at most), and if so the frame is kept (as an EventFrame) and a `learn_template`
job queued. The job (attendance.jobs) does the slow part, analysing the frame, and entries.services.photo_learn
applies the guards against template poisoning. The frame goes once the job has run, learnt or not.
"""

from __future__ import annotations

from datetime import timedelta

from entries import services as entry_services
from jobs.services import Item, job_start

from . import conf
from .models import AttendanceEvent, EventFrame, Method

FRAME_DAYS = 1  # a frame waiting for its job is kept this long at most (purge_review_frames drops it)


def rules() -> entry_services.LearnRules:
    return entry_services.LearnRules(
        cap=conf.get("LEARN_MAX_TEMPLATES"), every=timedelta(hours=conf.get("LEARN_EVERY_HOURS")),
        anchor_gallery=conf.get("LEARN_ANCHOR_GALLERY"), near_duplicate=conf.get("LEARN_NEAR_DUPLICATE"))


def worth_learning(event: AttendanceEvent) -> bool:
    """Whether a clocking may teach its employee's face: a face clocking nobody doubts, and very confident.

    Flagged events (low confidence, a failed challenge, two locations) never teach; with LEARN_REQUIRE_LIVENESS only
    a passed challenge does. The confidence bar is ATTENDANCE_LEARN_CONFIDENCE, far above the review's.
    """
    if not conf.get("LEARN_TEMPLATES") or event.review or event.confidence is None:
        return False
    if event.method == Method.FACE_LIVENESS:
        live = event.liveness == 1.0
    else:
        live = event.method == Method.FACE and not conf.get("LEARN_REQUIRE_LIVENESS")
    return live and event.confidence >= conf.get("LEARN_CONFIDENCE")


def queue(event: AttendanceEvent, frame: bytes) -> bool:
    """Inside the clocking's transaction: keep the frame and queue the job that learns from it, if it is worth it
    and the employee is due a new template (ATTENDANCE_LEARN_EVERY_HOURS). The job starts once this commits."""
    if not worth_learning(event) or not entry_services.photo_learn_due(event.employee_code, rules(), event.at):
        return False
    EventFrame.objects.create(event=event, image=frame, keep_until=event.at + timedelta(days=FRAME_DAYS))
    job_start(kind="learn_template", items=[Item(key=str(event.pk), label=event.employee_code)])
    return True

"""What every way of clocking shares, face or badge or PIN: the kiosk's answer, the direction, saving the event.

Its own module so that attendance.services (faces) and attendance.nonbiometric (badges, PINs) both build on it
without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.audit import Action, emit
from core.exceptions import FaceRecError
from facerec import databases

from . import conf, review
from .models import AttendanceEvent, Challenge, Direction, EventFrame, Kiosk, Review


class DirectionRequired(FaceRecError):
    """This kiosk shows In and Out buttons: the frame must say which was tapped."""

    code = "direction_required"


@dataclass
class Clocking:
    """What the kiosk shows for one frame: who only once they are clocked (or were, moments ago)."""

    # clocked, already (within the debounce window), confirming, unknown, no_face; on a liveness kiosk also
    # challenge (a known face: answer this challenge) and liveness_failed (`advice` says what to do)
    status: str
    event: AttendanceEvent | None = None
    challenge: Challenge | None = None
    advice: str = ""


def direction_mode(kiosk: Kiosk) -> str:
    return kiosk.direction_mode or conf.get("DIRECTION_MODE")


def last_event(employee_code: str, now: datetime) -> AttendanceEvent | None:
    """The employee's last event up to now: what HR dated after now has not happened, so it decides nothing."""
    return AttendanceEvent.objects.filter(employee_code=employee_code, at__lte=now).order_by("-at").first()


def debounced(last: AttendanceEvent | None, now: datetime) -> bool:
    """Whether `last` is so recent that a new clocking is the same one again (ATTENDANCE_DEBOUNCE_SECONDS)."""
    return last is not None and now - last.at < timedelta(seconds=conf.get("DEBOUNCE_SECONDS"))


def next_direction(last: AttendanceEvent | None, now: datetime, direction: str | None) -> str:
    """The direction tapped, else alternate: out if a shift is open (as timesheets count them), else in."""
    if direction in Direction.values:
        return str(direction)
    shift_open = last is not None and last.direction == Direction.IN and \
        now - last.at < timedelta(hours=conf.get("MAX_SHIFT_HOURS"))
    return Direction.OUT if shift_open else Direction.IN


def record_clocking(event: AttendanceEvent, *, images: Sequence[bytes] = (), reasons: Sequence[str] = (),
                    **details: Any) -> AttendanceEvent:
    """Save a kiosk's clocking and audit it; flag it for HR's review where it is doubtful.

    `reasons` are the caller's grounds for a review (a failed liveness challenge); review.reasons_for adds the
    general ones. A flagged event keeps its camera frames (`images`) for the review, even when snapshots are off.
    """
    reasons = [*reasons, *review.reasons_for(event)]
    if images and conf.get("KEEP_SNAPSHOTS"):
        event.snapshot, event.snapshot_until = images[-1], event.at + timedelta(days=conf.get("SNAPSHOT_DAYS"))
    if reasons:
        event.review, event.review_reasons = Review.PENDING, ",".join(dict.fromkeys(reasons))
    with databases.atomic():
        event.save()
        if reasons and images:
            keep_until = event.at + timedelta(days=conf.get("REVIEW_FRAME_DAYS"))
            EventFrame.objects.bulk_create(EventFrame(event=event, image=frame, keep_until=keep_until)
                                           for frame in images)
        emit(Action.CLOCK, sender=AttendanceEvent, employee_codes=[event.employee_code], direction=event.direction,
             kiosk=event.kiosk_name, method=event.method, similarity=event.similarity,
             snapshot=event.snapshot is not None, review=event.review_reasons, **details)
    return event

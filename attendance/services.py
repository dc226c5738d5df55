"""Clocking in and out, corrections and timesheets. The kiosk API, the admin and commands all call these."""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.utils import timezone

from core.audit import Action, emit
from core.exceptions import FaceRecError
from entries import identification
from entries import services as entry_services
from facerec import databases

from . import conf, frames, learning, liveness, nonbiometric
from .clocking import (
    Clocking,
    DirectionRequired,
    debounced,
    direction_mode,
    last_event,
    next_direction,
    record_clocking,
)
from .models import (
    REASON_MAX_LENGTH,
    AttendanceEvent,
    Challenge,
    Direction,
    DirectionMode,
    EventFrame,
    Kiosk,
    Liveness,
    LivenessFailure,
    Method,
    Review,
    SeenFrame,
)


class UnknownEmployee(FaceRecError):
    code = "unknown_employee"


class ReasonRequired(FaceRecError):
    code = "reason_required"


class NotPending(FaceRecError):
    """Only an event flagged for review, and not yet reviewed, can be confirmed or rejected."""

    code = "not_pending"
    status = 409


class FutureEvent(FaceRecError):
    """An event dated after now: it must be confirmed (future=True), and not lie too far ahead."""

    code = "future_event"


class ChallengeRefused(FaceRecError):
    """A challenge's answer that cannot count: unknown, used already, too late, or frames seen before."""

    code = "challenge_refused"
    status = 409


def kiosk_register(*, name: str, location: str = "", direction_mode: str = "", active: bool = True,
                   **options: Any) -> tuple[Kiosk, str]:
    """A new kiosk and its key (shown to HR once; only its digest is stored). options: Kiosk's other settings."""
    kiosk = Kiosk(name=name, location=location, direction_mode=direction_mode, active=active, **options)
    key = kiosk.new_key()
    kiosk.full_clean()
    kiosk.save()
    emit(Action.KIOSK_KEY, sender=Kiosk, operation="issue", kiosk=kiosk.name, key_prefix=kiosk.key_prefix)
    return kiosk, key


def kiosk_new_key(*, kiosk: Kiosk) -> str:
    """Replace a kiosk's key: the device must be paired again; the old key stops working at once."""
    key = kiosk.new_key()
    kiosk.save(update_fields=["key_prefix", "key_sha256"])
    emit(Action.KIOSK_KEY, sender=Kiosk, operation="rekey", kiosk=kiosk.name, key_prefix=kiosk.key_prefix)
    return key


def kiosk_set_active(*, kiosk: Kiosk, active: bool) -> None:
    """Revoke a kiosk's key (it can clock no one) or restore it."""
    Kiosk.objects.filter(pk=kiosk.pk).update(active=active)
    kiosk.active = active
    emit(Action.KIOSK_KEY, sender=Kiosk, operation="restore" if active else "revoke", kiosk=kiosk.name,
         key_prefix=kiosk.key_prefix)


def liveness_mode(kiosk: Kiosk) -> str:
    return kiosk.liveness or conf.get("LIVENESS")


def liveness_failure(kiosk: Kiosk) -> str:
    return kiosk.liveness_failure or conf.get("LIVENESS_FAILURE")


def clock(*, kiosk: Kiosk, image: bytes, direction: str | None = None, now: datetime | None = None) -> Clocking:
    """Recognise the largest face in a kiosk frame; clock the employee once consecutive captures agree.

    Frames in front of a kiosk form a sequence (one person, or nobody known, frame after frame). Every frame
    that ran recognition is audited once, when its sequence ends: in the clocking's row (`frames`), or in a
    `kiosk_frames` row saying how the sequence ended without one.
    """
    now = (now or timezone.now()).replace(microsecond=0)  # what a timesheet shows (and MongoDB keeps)
    if direction_mode(kiosk) == DirectionMode.BUTTONS and direction not in Direction.values:
        raise DirectionRequired("This kiosk asks In or Out first: send direction 'in' or 'out'.")
    if kiosk.allow_badge:  # a badge held to the camera clocks its holder instead of a face
        badge = nonbiometric.clock_badge(kiosk=kiosk, image=image, direction=direction, now=now)
        if badge is not None:
            return badge
    try:
        found = identification.identify(image=image, k=1, max_faces=1, record=False).faces[0]
    except identification.NoFaceFound:
        # Nothing to count unless a sequence is open: then end it, in turn with this kiosk's other frames.
        if not Kiosk.objects.filter(pk=kiosk.pk, pending_frames=0).update(last_seen_at=now):
            with databases.serialised():
                _end_sequence(Kiosk.objects.get(pk=kiosk.pk), "no_face", now)
        return Clocking("no_face")
    match = found.match
    capture = frames.fingerprint(image, found.box) if match else None
    with databases.serialised():  # parallel frames of one kiosk, and two kiosks seeing one employee, queue here
        state = Kiosk.objects.get(pk=kiosk.pk)
        code = match.employee_code if match else ""
        if not _continues(state, code, now):
            _end_sequence(state, "expired" if _expired(state, now) else "another_face", now)
        state.pending_code, state.pending_frames, state.pending_at = code, state.pending_frames + 1, now
        if match is None or capture is None:
            _save_sequence(state, now)
            return Clocking("unknown")
        if not frames.same_capture(state.pending_fingerprint, image):  # a frame sent again counts for nothing
            state.pending_count, state.pending_fingerprint = state.pending_count + 1, capture
        if state.pending_count < conf.get("CONFIRM_FRAMES"):
            _save_sequence(state, now)
            return Clocking("confirming")
        seen = state.pending_frames
        if liveness_mode(kiosk) == Liveness.CHALLENGE:  # a known face: now prove it is a live one
            _end_sequence(state, "challenge", now)
            return Clocking("challenge", challenge=challenge_issue(kiosk=kiosk, now=now))
        last = last_event(code, now)
        if debounced(last, now):
            _end_sequence(state, "already", now)
            return Clocking("already", last)
        _end_sequence(state, None, now)
        event = AttendanceEvent(
            employee_code=code, employee_name=match.name, department=match.department, at=now,
            direction=next_direction(last, now, direction), kiosk=kiosk, kiosk_name=kiosk.name,
            similarity=match.similarity,
            confidence=found.confidence, method=Method.FACE)
        record_clocking(event, images=[image], frames=seen)
        learning.queue(event, image)
    return Clocking("clocked", event)


# --- liveness challenges --------------------------------------------------------------------------

MAX_CHALLENGE_FRAMES = 40
LEAD_SECONDS = 0.6  # facing the camera before the first step and after the last: the starting pose
REVIEW_FRAMES = 6  # frames of a flagged answer kept for HR, evenly spread


def challenge_steps() -> list[str]:
    """A random order of CHALLENGE_STEPS different steps, drawn fresh for each attempt."""
    return secrets.SystemRandom().sample(liveness.STEPS, conf.get("CHALLENGE_STEPS"))


def challenge_issue(*, kiosk: Kiosk, now: datetime | None = None) -> Challenge:
    """A challenge for the face in front of the kiosk: its nonce, steps and deadline. Answered once."""
    now = now or timezone.now()
    return Challenge.objects.create(
        kiosk=kiosk, nonce=secrets.token_urlsafe(32), steps=",".join(challenge_steps()), issued_at=now,
        deadline=now + timedelta(seconds=conf.get("CHALLENGE_SECONDS")))


def _claim_challenge(kiosk: Kiosk, nonce: str, now: datetime) -> Challenge:
    """The kiosk's challenge for this nonce, marked used by this answer (one conditional update: atomic)."""
    challenge = Challenge.objects.filter(kiosk=kiosk, nonce=nonce).first() if nonce else None
    if challenge is None:
        raise ChallengeRefused("This challenge was not issued to this kiosk: look at the camera again.",
                               reason="unknown_nonce")
    if not Challenge.objects.filter(pk=challenge.pk, used_at__isnull=True).update(used_at=now):
        raise ChallengeRefused("This challenge was answered already: look at the camera again.", reason="used")
    if now > challenge.deadline:
        raise ChallengeRefused("The challenge ran out of time: look at the camera again.", reason="late")
    return challenge


def _remember_frames(images: Sequence[bytes], now: datetime) -> None:
    """Refuse frames sent twice, in this answer or an earlier one (a replay); remember these."""
    digests = [hashlib.sha256(image).hexdigest() for image in images]
    if len(set(digests)) < len(digests):
        raise ChallengeRefused("The same frame was sent twice.", reason="repeated_frame")
    with databases.serialised():
        if SeenFrame.objects.filter(digest__in=digests).exists():
            raise ChallengeRefused("These frames were sent before.", reason="replayed_frame")
        SeenFrame.objects.bulk_create(SeenFrame(digest=digest, at=now) for digest in digests)


def _check_times(times: Sequence[float], challenge: Challenge) -> None:
    window = (challenge.deadline - challenge.issued_at).total_seconds()
    if any(b < a for a, b in zip(times, times[1:], strict=False)) or times[0] < 0 or times[-1] > window:
        raise ChallengeRefused(f"Frame times must rise from 0 to at most {window:.0f} seconds.", reason="times")


def _identity_frames(measures: Sequence[liveness.FrameMeasure]) -> list[int]:
    """The frames identified: the first and the last (facing the camera, by the challenge's design) and the
    most frontal of the middle third, so that nobody stands in for the employee while the steps are shown."""
    third = range(len(measures) // 3, max(len(measures) // 3 + 1, 2 * len(measures) // 3))
    yaws = {n: abs(liveness.yaw(points)) for n in third if (points := measures[n].points) is not None}
    middle = min(yaws, key=yaws.__getitem__) if yaws else len(measures) // 2
    return sorted({0, middle, len(measures) - 1})


def clock_challenge(*, kiosk: Kiosk, nonce: str, images: Sequence[bytes], times: Sequence[float],
                    direction: str | None = None, now: datetime | None = None) -> Clocking:
    """Clock the employee who answered a liveness challenge with this burst of frames, or say why not.

    The answer counts once, before the deadline, with frames never sent before. Its first, a middle and its last
    frame are identified together (the mean of their embeddings), each must be the employee found (1:1), and the
    face mesh must move as the steps asked, in their
    order, as a head and not a photo moves (attendance.liveness). On failure the kiosk's policy refuses (and
    audits the attempt), or clocks and flags the event for HR's review.
    """
    now = (now or timezone.now()).replace(microsecond=0)
    if not 2 <= len(images) <= MAX_CHALLENGE_FRAMES or len(times) != len(images):
        raise ChallengeRefused(f"Send 2 to {MAX_CHALLENGE_FRAMES} frames, each with its time.", reason="frames")
    if direction_mode(kiosk) == DirectionMode.BUTTONS and direction not in Direction.values:
        raise DirectionRequired("This kiosk asks In or Out first: send direction 'in' or 'out'.")
    challenge = _claim_challenge(kiosk, nonce, now)
    _check_times(times, challenge)
    _remember_frames(images, now)
    measures = [liveness.measure(image, t) for image, t in zip(images, times, strict=True)]
    seen = identification.identify_frames(images=[images[n] for n in _identity_frames(measures)])
    match = seen.match
    if match is None:  # nobody known, or someone else in one of the frames
        emit(Action.KIOSK_FRAMES, sender=Kiosk, kiosk=kiosk.name, frames=len(images),
             employee_codes=[seen.stand_in.employee_code] if seen.stand_in else [],
             ended="different_faces" if seen.stand_in else "unknown")
        return Clocking("unknown")
    verdict = liveness.decide(measures, challenge.steps.split(","))
    flag = []
    if not verdict.passed:
        if liveness_failure(kiosk) == LivenessFailure.REFUSE:
            emit(Action.LIVENESS, sender=Kiosk, employee_codes=[match.employee_code], kiosk=kiosk.name,
                 frames=len(images), steps=challenge.steps, verdict=verdict.code, measured=verdict.details)
            return Clocking("liveness_failed", advice=verdict.message)
        flag = ["liveness_failed"]
    with databases.serialised():
        last = last_event(match.employee_code, now)
        if debounced(last, now):
            emit(Action.KIOSK_FRAMES, sender=Kiosk, employee_codes=[match.employee_code], kiosk=kiosk.name,
                 frames=len(images), ended="already")
            return Clocking("already", last)
        event = AttendanceEvent(
            employee_code=match.employee_code, employee_name=match.name, department=match.department, at=now,
            direction=next_direction(last, now, direction), kiosk=kiosk, kiosk_name=kiosk.name,
            similarity=match.similarity, confidence=seen.confidence, method=Method.FACE_LIVENESS,
            liveness=1.0 if verdict.passed else 0.0)
        kept = images[::max(1, len(images) // REVIEW_FRAMES)][:REVIEW_FRAMES]  # for a review, if flagged
        record_clocking(event, images=kept, reasons=flag, frames=len(images), steps=challenge.steps,
                        verdict=verdict.code, measured=verdict.details)
        learning.queue(event, images[0])  # the first frame faces the camera, by the challenge's design
    return Clocking("clocked", event)


def purge_challenges(*, now: datetime | None = None) -> int:
    """Forget challenges and frame digests older than a day (older frames replayed fail on their nonce)."""
    before = (now or timezone.now()) - timedelta(days=1)
    SeenFrame.objects.filter(at__lt=before).delete()
    return Challenge.objects.filter(issued_at__lt=before).delete()[0]


def _expired(state: Kiosk, now: datetime) -> bool:
    return state.pending_at is None or now - state.pending_at > timedelta(seconds=conf.get("CONFIRM_WINDOW_SECONDS"))


def _continues(state: Kiosk, code: str, now: datetime) -> bool:
    """Whether a frame showing `code` continues the kiosk's open sequence."""
    return state.pending_code == code and not _expired(state, now)


def _end_sequence(state: Kiosk, ended: str | None, now: datetime) -> None:
    """Close the kiosk's open sequence: audit its frames (`ended` None: the caller's clocking does) and reset it."""
    if state.pending_frames and ended is not None:
        emit(Action.KIOSK_FRAMES, sender=Kiosk, employee_codes=[state.pending_code], kiosk=state.name,
             frames=state.pending_frames, ended=ended)
    state.pending_code, state.pending_count, state.pending_frames, state.pending_fingerprint = "", 0, 0, None
    _save_sequence(state, now)


def _save_sequence(state: Kiosk, now: datetime) -> None:
    Kiosk.objects.filter(pk=state.pk).update(
        pending_code=state.pending_code, pending_count=state.pending_count, pending_frames=state.pending_frames,
        pending_fingerprint=state.pending_fingerprint, pending_at=state.pending_at, last_seen_at=now)


def end_stale_sequences(*, now: datetime | None = None) -> int:
    """Audit the frames a kiosk that fell silent left open (run daily, by purge_snapshots); return how many."""
    now = now or timezone.now()
    ended = 0
    for pk in Kiosk.objects.filter(pending_frames__gt=0).values_list("pk", flat=True):
        with databases.serialised():
            state = Kiosk.objects.get(pk=pk)
            if state.pending_frames and _expired(state, now):
                _end_sequence(state, "expired", state.last_seen_at or now)
                ended += 1
    return ended


def check_event_time(at: datetime, *, future: bool = False) -> None:
    """Refuse a time after now unless `future` confirms it, and one more than FUTURE_EVENT_MAX_HOURS ahead."""
    now = timezone.now()
    if at <= now:
        return
    limit = conf.get("FUTURE_EVENT_MAX_HOURS")
    if not future:
        raise FutureEvent("The time is in the future: confirm it is meant (kiosks ignore it until then).",
                          at=at.isoformat())
    if at > now + timedelta(hours=limit):
        raise FutureEvent(f"The time is more than {limit} hours in the future.", at=at.isoformat(),
                          max_hours=limit)


def _user(by: entry_services.Actor) -> User | None:
    return None if by is None or isinstance(by, AnonymousUser) or not by.pk else by


def event_employee(employee_code: str, *, employee_name: str = "", department: str = "") -> tuple[str, str]:
    """The name and department an event added by hand records: as given, else the enrolled employee's.

    A form asks it while validating, so a code nobody is enrolled under is refused with this message there.
    """
    employee = entry_services.employee_summary(employee_code)
    if employee is None and not employee_name:
        raise UnknownEmployee(f"No employee {employee_code!r} is enrolled: give their name.",
                              employee_code=employee_code)
    return (employee_name or (employee.name if employee else ""),
            department or (employee.department if employee else ""))


def event_add(*, employee_code: str, at: datetime, direction: str, reason: str, by: entry_services.Actor,
              employee_name: str = "", department: str = "", future: bool = False) -> AttendanceEvent:
    """An event HR records by hand (a forgotten check-out), with why; `future` confirms a time after now."""
    check_event_time(at, future=future)
    employee_name, department = event_employee(employee_code, employee_name=employee_name, department=department)
    event = AttendanceEvent(
        employee_code=employee_code, employee_name=employee_name, department=department, at=at, direction=direction,
        corrected_by=_user(by), corrected_at=timezone.now(),
        correction_reason=reason)
    event.full_clean()
    event.save()
    emit(Action.CLOCK, sender=AttendanceEvent, employee_codes=[employee_code], direction=direction, manual=True,
         reason=reason)
    return event


def event_correct(*, event: AttendanceEvent, at: datetime, direction: str, reason: str, by: entry_services.Actor,
                  future: bool = False) -> AttendanceEvent:
    """Change an event's time or direction; what the kiosk recorded is kept beside it, with who and why."""
    check_event_time(at, future=future)
    if event.original_at is None and event.kiosk_name:
        event.original_at, event.original_direction = event.at, event.direction
    event.at, event.direction, event.correction_reason = at, direction, reason
    event.corrected_by, event.corrected_at = _user(by), timezone.now()
    event.full_clean()
    event.save()
    emit(Action.CLOCK, sender=AttendanceEvent, employee_codes=[event.employee_code], direction=direction,
         corrected=True, reason=reason)
    return event


def _reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(f"Say why the event is {what}.")
    if len(reason) > REASON_MAX_LENGTH:
        raise ReasonRequired(f"The reason is longer than {REASON_MAX_LENGTH} characters.")
    return reason


def event_delete(*, event: AttendanceEvent, reason: str, by: entry_services.Actor) -> None:
    """Delete an event, saying why: the audit keeps what it was, with who (`by`, the request's user) and why."""
    reason = _reason(reason, "deleted")
    with databases.atomic():  # the event and its audit row go together
        emit(Action.DELETE_EVENT, sender=AttendanceEvent, employee_codes=[event.employee_code], reason=reason,
             at=event.at.isoformat(), direction=event.direction, kiosk=event.kiosk_name,
             corrected=event.corrected_at is not None)
        event.delete()


# --- review of doubtful clockings ------------------------------------------------------------------

def _pending(event: AttendanceEvent) -> AttendanceEvent:
    """The event as stored now, if it still waits for a review (two reviewers may act on it at once)."""
    current = AttendanceEvent.objects.filter(pk=event.pk, review=Review.PENDING).defer("snapshot").first()
    if current is None:
        raise NotPending("This event is not waiting for a review (already reviewed, or never flagged).",
                         event=str(event.pk))
    return current


def review_confirm(*, event: AttendanceEvent, by: entry_services.Actor) -> AttendanceEvent:
    """HR looked at a flagged clocking and it stands: it counts as any other, and its kept frames go at once."""
    with databases.serialised():
        current = _pending(event)
        current.review, current.reviewed_by, current.reviewed_at = Review.CONFIRMED, _user(by), timezone.now()
        current.save(update_fields=["review", "reviewed_by", "reviewed_at"])
        EventFrame.objects.filter(event=current).delete()  # the frames were kept for this review only
        emit(Action.REVIEW, sender=AttendanceEvent, employee_codes=[current.employee_code],
             decision="confirm", event=str(current.pk), reasons=current.review_reasons,
             at=current.at.isoformat(), direction=current.direction, kiosk=current.kiosk_name)
    event.review, event.reviewed_by, event.reviewed_at = current.review, current.reviewed_by, current.reviewed_at
    return current


def review_reject(*, event: AttendanceEvent, reason: str, by: entry_services.Actor) -> None:
    """HR looked at a flagged clocking and it is wrong (someone else, a lent badge): it is deleted, saying why.

    The audit keeps what the event was and why it was flagged, like event_delete; the frames go with it.
    """
    reason = _reason(reason, "rejected")
    with databases.serialised():  # the event, its frames and its audit row go together
        current = _pending(event)
        emit(Action.REVIEW, sender=AttendanceEvent, employee_codes=[current.employee_code],
             decision="reject", event=str(current.pk), reasons=current.review_reasons, reason=reason,
             at=current.at.isoformat(), direction=current.direction, kiosk=current.kiosk_name,
             method=current.method)
        EventFrame.objects.filter(event=current).delete()
        current.delete()


def forget_snapshots(employee_codes: Iterable[str]) -> int:
    """Drop the kept frames of these employees, snapshots and review frames (their face entry was deleted).

    Their events stay, and a pending review stays pending: HR decides it without the pictures.
    """
    codes = list(employee_codes)
    events = list(AttendanceEvent.objects.filter(employee_code__in=codes).values_list("pk", flat=True))
    frames_dropped, _ = EventFrame.objects.filter(event__in=events).delete() if events else (0, {})
    return frames_dropped + AttendanceEvent.objects.filter(employee_code__in=codes, snapshot__isnull=False).update(
        snapshot=None, snapshot_until=None)


def purge_snapshots(*, now: datetime | None = None) -> int:
    """Drop kept snapshots past their day."""
    return AttendanceEvent.objects.filter(snapshot_until__lt=now or timezone.now()).update(
        snapshot=None, snapshot_until=None)


def purge_review_frames(*, now: datetime | None = None) -> int:
    """Drop the frames kept for a review past their day (the event, and its review, stay; run daily)."""
    return EventFrame.objects.filter(keep_until__lt=now or timezone.now()).delete()[0]


# --- time zones ------------------------------------------------------------------------------------
# Events are stored in UTC. Each kiosk has its time zone (blank: settings.TIME_ZONE): it greets, and timesheets
# date and show its events, in that zone. An event with no kiosk (added by HR, or its kiosk deleted) is in
# TIME_ZONE.

def kiosk_zone(kiosk: Kiosk | None) -> tzinfo:
    return ZoneInfo(kiosk.time_zone) if kiosk is not None and kiosk.time_zone else timezone.get_default_timezone()


def zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


def kiosk_zones() -> dict[Any, tzinfo]:
    """Every kiosk's zone by its id, read once (for many events: no query per event)."""
    return {pk: ZoneInfo(name) for pk, name in Kiosk.objects.exclude(time_zone="").values_list("pk", "time_zone")}


def event_zone(event: AttendanceEvent, zones: dict[Any, tzinfo] | None = None) -> tzinfo:
    """The zone an event is shown and dated in: its kiosk's (`zones`, from kiosk_zones(), saves a query)."""
    if event.kiosk_id is None:
        return timezone.get_default_timezone()
    if zones is not None:
        return zones.get(event.kiosk_id) or timezone.get_default_timezone()
    return kiosk_zone(event.kiosk)


def local_time(event: AttendanceEvent, zones: dict[Any, tzinfo] | None = None) -> datetime:
    return event.at.astimezone(event_zone(event, zones))


# --- timesheets -----------------------------------------------------------------------------------

@dataclass
class Day:
    """One employee's day: first in, last out, and the hours between each in and the out after it."""

    date: date
    employee_code: str
    employee_name: str
    department: str
    first_in: datetime | None = None
    last_out: datetime | None = None
    hours: float = 0.0  # `worked` in hours, to two decimals (the API's number)
    missing_checkout: bool = False  # a shift begun this day was never closed
    still_in: bool = False  # ...or is open still, begun less than ATTENDANCE_MAX_SHIFT_HOURS ago
    time_zone: str = ""  # the zone of the day's date and times: that of the kiosk of its first event
    worked: timedelta = timedelta(0)

    @property
    def minutes(self) -> int:
        """The time worked to the nearest minute: what HR's pages and files show, and what totals add up."""
        return round(self.worked.total_seconds() / 60)

    @property
    def hours_minutes(self) -> str:
        return hours_minutes(self.minutes)


@dataclass
class Total:
    """One employee's period: the days they clocked in, the time worked and the check-outs missing."""

    employee_code: str
    employee_name: str
    department: str
    days: int = 0
    minutes: int = 0
    missing_checkouts: int = 0

    @property
    def hours_minutes(self) -> str:
        return hours_minutes(self.minutes)


def hours_minutes(minutes: int) -> str:
    """Minutes as h:mm (7:31, 41:05): how HR and payroll read hours, where 7.52 reads as 7 h 52."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def period(day: date, span: str) -> tuple[date, date]:
    """The first and last day of the day, week (Monday first) or month containing `day`."""
    if span == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if span == "month":
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return start, following - timedelta(days=1)
    return day, day


def adjacent_periods(start: date, end: date, span: str) -> tuple[date, date]:
    """A day of the period before and of the period after (the timesheet's previous and next links)."""
    return period(start - timedelta(days=1), span)[0], end + timedelta(days=1)


def events_between(start: date, end: date, department: str | None = None, *,
                   margin: timedelta = timedelta(0)) -> QuerySet[AttendanceEvent]:
    """Events from the start of `start` to the end of `end` (local time), widened by `margin` both ways."""
    zone = timezone.get_current_timezone()
    events = AttendanceEvent.objects.filter(
        at__gte=datetime.combine(start, time.min, zone) - margin,
        at__lt=datetime.combine(end + timedelta(days=1), time.min, zone) + margin).defer("snapshot")
    return events.filter(department=department) if department else events


def timesheet(start: date, end: date, department: str | None = None, *, now: datetime | None = None) -> list[Day]:
    """Every employee's days between start and end (local dates), by day then employee code.

    A shift runs from an in to the next out and belongs to the day of its in, so a night shift's hours
    count on the evening it began. The day is the in's date in its kiosk's time zone (no kiosk: TIME_ZONE),
    and the day's times are shown in that zone. An in left open longer than ATTENDANCE_MAX_SHIFT_HOURS is a missing
    check-out (or, if it is that recent, the employee is still in); an out with no in before it is listed
    but adds no hours.
    """
    now = now or timezone.now()
    longest = timedelta(hours=conf.get("MAX_SHIFT_HOURS"))
    days: dict[tuple[date, str], Day] = {}
    opened: dict[str, tuple[Day, datetime]] = {}  # employee -> the day and time of their open shift

    zones = kiosk_zones()

    def local(event: AttendanceEvent) -> datetime:
        return local_time(event, zones)

    def day_of(event: AttendanceEvent) -> Day:
        key = (local(event).date(), event.employee_code)
        day = days.get(key) or Day(key[0], event.employee_code, event.employee_name, event.department,
                                   time_zone=zone_name(event_zone(event, zones)))
        if start <= key[0]:  # a shift begun before the period is followed, not reported
            days[key] = day
        return day

    def leave_open(code: str) -> None:
        day, since = opened.pop(code)
        if now - since < longest:
            day.still_in = True
        else:
            day.missing_checkout = True

    # A shift's out may fall after the period, and an out in it may close a shift begun before it; a kiosk's
    # local day may begin up to a day before or after TIME_ZONE's.
    for event in events_between(start, end, department, margin=longest + timedelta(days=1)).order_by("at"):
        code, shift = event.employee_code, opened.get(event.employee_code)
        if shift is not None and event.at - shift[1] > longest:  # an in left open: never closed
            leave_open(code)
            shift = None
        if event.direction == Direction.IN:
            if local(event).date() > end:
                continue  # a shift of the next period
            if shift is None:  # a second in during a shift changes nothing
                day = day_of(event)
                day.first_in = day.first_in or local(event)
                opened[code] = (day, event.at)
        elif shift is not None:
            day, since = opened.pop(code)
            day.last_out = event.at.astimezone(ZoneInfo(day.time_zone))  # shown in the zone of the day
            day.worked += event.at - since
        elif start <= local(event).date() <= end:  # an out with no in before it
            day = day_of(event)
            day.last_out = local(event)
    for code in list(opened):
        leave_open(code)
    for day in days.values():
        day.hours = round(day.worked.total_seconds() / 3600, 2)
    return [days[key] for key in sorted(days)]


def totals(days: list[Day]) -> list[Total]:
    """Each employee's totals over the timesheet's days, by employee code, with the name and department of
    their latest day. The minutes are the sum of the days' minutes as shown, so the rows add up to the total."""
    by_code: dict[str, Total] = {}
    for day in sorted(days, key=lambda d: d.date):
        total = by_code.setdefault(day.employee_code, Total(day.employee_code, "", ""))
        total.employee_name, total.department = day.employee_name, day.department
        total.days += day.first_in is not None
        total.minutes += day.minutes
        total.missing_checkouts += day.missing_checkout
    return [by_code[code] for code in sorted(by_code)]


def arrivals_by_hour(days: list[Day]) -> list[int]:
    """How many first check-ins fell in each hour of the day (0–23, the time of the kiosk's zone)."""
    counts = Counter(d.first_in.hour for d in days if d.first_in)  # timesheet() gives them in their day's zone
    return [counts.get(hour, 0) for hour in range(24)]


def presence_by_day(days: list[Day], start: date, end: date) -> list[tuple[date, int]]:
    """How many employees clocked in on each day of the period."""
    counts = Counter(d.date for d in days if d.first_in)
    return [(start + timedelta(n), counts.get(start + timedelta(n), 0)) for n in range((end - start).days + 1)]

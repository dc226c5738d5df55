"""Clocking without a face: employees who gave no consent to face data (or withdrew it) clock with a PIN or badge.

The kiosk API, the admin and the HR API all call these. Wrong PINs lock out the employee and the kiosk alike
(ATTENDANCE_PIN_ATTEMPTS in a row, for ATTENDANCE_PIN_LOCKOUT_MINUTES); a code nobody has answers exactly as a
wrong PIN does, so a kiosk never tells which codes exist.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import check_password, make_password
from django.db.models import F
from django.utils import timezone

from core.audit import Action, emit
from core.exceptions import FaceRecError
from entries import services as entry_services
from entries.models import FaceEntry
from facerec import databases

from . import badges, clocking, conf
from .clocking import Clocking
from .models import AttendanceEvent, Direction, DirectionMode, Kiosk, Method, NonBiometricEmployee

PIN_PATTERN = re.compile(r"[0-9]{4,8}")  # the keypad's digits (\d would take any script's)


class EmployeeExists(FaceRecError):
    """The code is taken: by a face entry, or by an employee without a face."""

    code = "employee_exists"
    status = 409


class NoFaceEntry(FaceRecError):
    code = "no_face_entry"
    status = 404


class InvalidPin(FaceRecError):
    code = "invalid_pin"


class PinNotAllowed(FaceRecError):
    code = "pin_not_allowed"
    status = 403


class PinRefused(FaceRecError):
    """A wrong PIN, or a code nobody has: the same answer, so the kiosk tells no one which codes exist."""

    code = "pin_refused"
    status = 403


class PinLocked(FaceRecError):
    code = "pin_locked"
    status = 429


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def employee_add(*, employee_code: str, name: str, department: str = "", pin: str | None = None,
                 by: entry_services.Actor = None) -> NonBiometricEmployee:
    """An employee who clocks without a face; refused if the code already has a face entry or exists."""
    if entry_services.employee_summary(employee_code) is not None:
        raise EmployeeExists(f"{employee_code} has a face entry: they clock by face (withdraw consent first).",
                             employee_code=employee_code)
    if pin is not None:
        _check_pin(pin)
    employee = NonBiometricEmployee(employee_code=employee_code, employee_name=name, department=department,
                                    pin_hash=make_password(pin) if pin else "")
    with databases.serialised():
        if NonBiometricEmployee.objects.filter(employee_code=employee_code).exists():
            raise EmployeeExists(f"{employee_code} is already an employee without a face.",
                                 employee_code=employee_code)
        employee.full_clean()
        employee.save()
        emit(Action.NON_BIOMETRIC, sender=NonBiometricEmployee, employee_codes=[employee_code], operation="add",
             pin=bool(pin), by=_by(by))
    return employee


def _check_pin(pin: str) -> None:
    if not isinstance(pin, str) or not PIN_PATTERN.fullmatch(pin):
        raise InvalidPin("A PIN is 4 to 8 digits.")


def _by(by: entry_services.Actor) -> str:
    return getattr(by, "username", "") or ""


def employee_update(*, employee: NonBiometricEmployee, name: str, department: str,
                    by: entry_services.Actor = None) -> None:
    """Change an employee's name or department (their code never changes: it is how events name them)."""
    employee.employee_name, employee.department = name, department
    employee.full_clean()
    with databases.atomic():
        employee.save(update_fields=["employee_name", "department"])
        emit(Action.NON_BIOMETRIC, sender=NonBiometricEmployee, employee_codes=[employee.employee_code],
             operation="update", by=_by(by))


def employee_set_pin(*, employee: NonBiometricEmployee, pin: str, by: entry_services.Actor = None) -> None:
    """Set (or replace) the employee's PIN; only Django's password hash of it is stored. Unlocks them."""
    _check_pin(pin)
    employee.pin_hash, employee.failed_pins, employee.locked_until = make_password(pin), 0, None
    with databases.atomic():
        employee.save(update_fields=["pin_hash", "failed_pins", "locked_until"])
        emit(Action.NON_BIOMETRIC, sender=NonBiometricEmployee, employee_codes=[employee.employee_code],
             operation="set_pin", by=_by(by))


def employee_new_badge(*, employee: NonBiometricEmployee, by: entry_services.Actor = None) -> str:
    """Issue a new badge and return its token, to print once: only its digest is kept; the old badge stops working."""
    token = secrets.token_urlsafe(24)
    employee.badge_prefix, employee.badge_sha256 = token[:6], _digest(token)
    with databases.atomic():
        employee.save(update_fields=["badge_prefix", "badge_sha256"])
        emit(Action.NON_BIOMETRIC, sender=NonBiometricEmployee, employee_codes=[employee.employee_code],
             operation="new_badge", badge_prefix=employee.badge_prefix, by=_by(by))
    return token


def employee_unlock(*, employee: NonBiometricEmployee, by: entry_services.Actor = None) -> None:
    NonBiometricEmployee.objects.filter(pk=employee.pk).update(failed_pins=0, locked_until=None)
    employee.failed_pins, employee.locked_until = 0, None
    emit(Action.NON_BIOMETRIC, sender=NonBiometricEmployee, employee_codes=[employee.employee_code],
         operation="unlock", by=_by(by))


def employee_delete(*, employee: NonBiometricEmployee, by: entry_services.Actor = None) -> None:
    """Remove an employee without a face (they left): their attendance events stay."""
    with databases.atomic():
        emit(Action.NON_BIOMETRIC, sender=NonBiometricEmployee, employee_codes=[employee.employee_code],
             operation="delete", by=_by(by))
        employee.delete()


def withdraw_consent(*, employee_code: str, by: entry_services.Actor = None) -> NonBiometricEmployee:
    """Delete the employee's face entry (photos, embeddings, vectors) and keep them as an employee without a face.

    Their attendance events stay: HR records, not face data. One transaction: either both, or neither.
    """
    entry = FaceEntry.objects.filter(employee_code=employee_code).first()
    if entry is None:
        raise NoFaceEntry(f"{employee_code} has no face entry: there is no face data to delete.",
                          employee_code=employee_code)
    with databases.atomic():
        employee, _ = NonBiometricEmployee.objects.update_or_create(
            employee_code=employee_code,
            defaults={"employee_name": entry.name, "department": entry.department,
                      "consent_withdrawn_at": timezone.now()})
        emit(Action.WITHDRAW_CONSENT, sender=NonBiometricEmployee, employee_codes=[employee_code], by=_by(by),
             events_kept=AttendanceEvent.objects.filter(employee_code=employee_code).count())
        entry_services.entry_delete(entry=entry)
    return employee


# --- clocking ---------------------------------------------------------------------------------------------

@dataclass
class _Attempt:
    outcome: str  # clocked, already, wrong, locked
    clocking: Clocking | None = None
    lockouts: tuple[str, ...] = ()


@functools.cache
def _dummy_hash() -> str:
    """A hash no PIN matches: a code nobody has costs the same hashing time as a wrong PIN (no timing tell)."""
    return make_password(secrets.token_hex(8))


def clock_pin(*, kiosk: Kiosk, employee_code: str, pin: str, direction: str | None = None,
              now: datetime | None = None) -> Clocking:
    """Clock an employee without a face by their code and PIN, on a kiosk that allows PINs.

    The PIN is checked before the lock (it is slow by design); the decision, the counters and the event are
    one serialised step, so parallel wrong PINs never get more tries than ATTENDANCE_PIN_ATTEMPTS.
    """
    if not kiosk.allow_pin:
        raise PinNotAllowed("This kiosk does not take PINs.")
    if clocking.direction_mode(kiosk) == DirectionMode.BUTTONS and direction not in Direction.values:
        raise clocking.DirectionRequired("This kiosk asks In or Out first: send direction 'in' or 'out'.")
    now = (now or timezone.now()).replace(microsecond=0)
    employee = NonBiometricEmployee.objects.filter(employee_code=employee_code).first() if employee_code else None
    right = check_password(str(pin or ""), employee.pin_hash if employee and employee.pin_hash else _dummy_hash())
    right = right and employee is not None and bool(employee.pin_hash)
    with databases.serialised():  # the lockouts' audit rows in the same transaction as the lockouts
        attempt = _decide(kiosk, employee, right, direction, now)
        for what in attempt.lockouts:
            emit(Action.PIN_LOCKOUT, sender=Kiosk if what == "kiosk" else NonBiometricEmployee,
                 employee_codes=[employee.employee_code] if what == "employee" and employee else [],
                 kiosk=kiosk.name, locked=what, minutes=conf.get("PIN_LOCKOUT_MINUTES"))
    if attempt.outcome == "locked":
        raise PinLocked("Too many wrong PINs: try again later, or see HR.")
    if attempt.outcome == "wrong":
        raise PinRefused("Wrong code or PIN.")
    assert attempt.clocking is not None
    return attempt.clocking


def _decide(kiosk: Kiosk, employee: NonBiometricEmployee | None, right: bool, direction: str | None,
            now: datetime) -> _Attempt:
    state = Kiosk.objects.get(pk=kiosk.pk)
    # Deleted meanwhile: a code nobody has now.
    person = NonBiometricEmployee.objects.filter(pk=employee.pk).first() if employee else None
    right = right and person is not None
    if (state.pins_locked_until and state.pins_locked_until > now) or \
            (person and person.locked_until and person.locked_until > now):
        return _Attempt("locked")
    limit, until = conf.get("PIN_ATTEMPTS"), now + timedelta(minutes=conf.get("PIN_LOCKOUT_MINUTES"))
    if not right:
        lockouts = []
        if _count_failure(Kiosk, state, limit, until, "pins_locked_until"):
            lockouts.append("kiosk")
        if person and _count_failure(NonBiometricEmployee, person, limit, until, "locked_until"):
            lockouts.append("employee")
        return _Attempt("wrong", lockouts=tuple(lockouts))
    assert person is not None
    Kiosk.objects.filter(pk=state.pk).update(failed_pins=0, pins_locked_until=None, last_seen_at=now)
    NonBiometricEmployee.objects.filter(pk=person.pk).update(failed_pins=0, locked_until=None)
    return _Attempt("clocked", clocking=_clock(kiosk, person, Method.PIN, direction, now))


def _count_failure(model, row, limit: int, until: datetime, locked_field: str) -> bool:
    """Count one wrong PIN on `row`; at the limit, lock it until `until` and start counting afresh. Locked?"""
    if row.failed_pins + 1 >= limit:
        model.objects.filter(pk=row.pk).update(failed_pins=0, **{locked_field: until})
        return True
    model.objects.filter(pk=row.pk).update(failed_pins=F("failed_pins") + 1)
    return False


def _clock(kiosk: Kiosk, employee: NonBiometricEmployee, method: str, direction: str | None, now: datetime,
           images: tuple[bytes, ...] = ()) -> Clocking:
    last = clocking.last_event(employee.employee_code, now)
    if clocking.debounced(last, now):
        return Clocking("already", last)
    event = AttendanceEvent(
        employee_code=employee.employee_code, employee_name=employee.employee_name, department=employee.department,
        at=now, direction=clocking.next_direction(last, now, direction), kiosk=kiosk, kiosk_name=kiosk.name,
        method=method)
    clocking.record_clocking(event, images=images)
    return Clocking("clocked", event)


def clock_badge(*, kiosk: Kiosk, image: bytes, direction: str | None = None,
                now: datetime | None = None) -> Clocking | None:
    """Clock the employee whose badge QR code the frame shows; None if it shows no badge (then faces are tried).

    A badge nobody holds (replaced, or forged) is 'unknown'. The frame is kept for review like a face's.
    """
    if not kiosk.allow_badge:
        return None
    token = badges.read(image)
    if token is None:
        return None
    now = (now or timezone.now()).replace(microsecond=0)
    with databases.serialised():
        employee = NonBiometricEmployee.objects.filter(badge_sha256=_digest(token)).first()
        if employee is None:
            emit(Action.KIOSK_FRAMES, sender=Kiosk, kiosk=kiosk.name, frames=1, ended="unknown_badge")
            return Clocking("unknown")
        Kiosk.objects.filter(pk=kiosk.pk).update(last_seen_at=now)
        return _clock(kiosk, employee, Method.BADGE, direction, now, images=(image,))

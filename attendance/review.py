"""Which clockings HR should look at: the rules that flag an event for review."""

from __future__ import annotations

from datetime import timedelta

from . import conf
from .models import AttendanceEvent, Kiosk, Method

LOW_CONFIDENCE = "low_confidence"
NON_BIOMETRIC = "non_biometric"
TWO_LOCATIONS = "two_locations"


def reasons_for(event: AttendanceEvent) -> list[str]:
    """Why a new kiosk event is doubtful (empty: it is not).

    A face matched with little confidence may be someone else; a PIN or a badge proves no one's presence (they
    can be lent); one employee at two places further apart than a walk, within REVIEW_TRAVEL_MINUTES, is two
    people, one of them not the employee.
    """
    reasons = []
    if event.method in (Method.FACE, Method.FACE_LIVENESS) and event.confidence is not None \
            and event.confidence < conf.get("REVIEW_CONFIDENCE"):
        reasons.append(LOW_CONFIDENCE)
    if event.method in (Method.PIN, Method.BADGE) and conf.get("REVIEW_NON_BIOMETRIC"):
        reasons.append(NON_BIOMETRIC)
    if _elsewhere_just_before(event):
        reasons.append(TWO_LOCATIONS)
    return reasons


def _elsewhere_just_before(event: AttendanceEvent) -> bool:
    """Whether the employee clocked at a kiosk of another (named) location within REVIEW_TRAVEL_MINUTES before."""
    location = event.kiosk.location if event.kiosk is not None else ""
    if not location:
        return False
    # Two plain queries rather than a join across the kiosk: the same on every database, MongoDB included.
    elsewhere = list(Kiosk.objects.exclude(location="").exclude(location=location).values_list("pk", flat=True))
    if not elsewhere:
        return False
    since = event.at - timedelta(minutes=conf.get("REVIEW_TRAVEL_MINUTES"))
    earlier = AttendanceEvent.objects.filter(employee_code=event.employee_code, kiosk__in=elsewhere,
                                             at__gte=since, at__lte=event.at)
    if event.pk is not None:
        earlier = earlier.exclude(pk=event.pk)
    return earlier.exists()

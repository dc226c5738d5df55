"""Turn the apps' face-data events into audit rows, with who (user or token owner), where from and through what."""

import getpass
import json
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.dispatch import receiver
from django.utils import timezone

from core.audit import face_data_event
from facerec import databases

from .middleware import current_request
from .models import AuditEmployee, AuditEvent

# Bounds that hold whatever a caller passes: the audit is kept for years and cannot be deleted early.
MAX_TEXT = 300  # characters of one text value (a correction reason has 300)
MAX_ITEMS = 50  # items of one list (identify decides at most 50 faces)
MAX_DETAILS = 4096  # characters of the whole details JSON
MAX_SUMMARY = 2000  # characters of the event's own employee summary (every code is in AuditEmployee)
CODE_LENGTH = AuditEmployee._meta.get_field("employee_code").max_length


def bounded(value, depth=0) -> tuple[object, bool]:
    """A JSON-able copy of a detail value with each text, list and dict cut to its bound, and whether any was."""
    if value is None or isinstance(value, (bool, int, float)):
        return value, False
    if isinstance(value, dict) and depth < 2:
        items = [(str(k)[:64], *bounded(v, depth + 1)) for k, v in list(value.items())[:MAX_ITEMS]]
        return {k: v for k, v, _ in items}, len(value) > MAX_ITEMS or any(cut for *_, cut in items)
    if isinstance(value, (list, tuple, set, frozenset)) and depth < 2:
        values = [bounded(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
        return [v for v, _ in values], len(value) > MAX_ITEMS or any(cut for _, cut in values)
    text = str(value)
    return text[:MAX_TEXT], len(text) > MAX_TEXT


def bounded_details(details: dict | None) -> dict:
    """Each value bounded, then whole values kept in order while the JSON fits MAX_DETAILS; "truncated" if cut."""
    kept, size, truncated = {}, 0, False
    for key, value in (details or {}).items():
        value, cut = bounded(value)
        item = len(json.dumps({str(key)[:64]: value}))
        if size + item > MAX_DETAILS - len(', "truncated": true'):
            truncated = True
            continue
        kept[str(key)[:64]], size, truncated = value, size + item, truncated or cut
    return {**kept, "truncated": True} if truncated else kept


def summary(codes: list[str]) -> str:
    """The codes framed by commas (,E001,E002,), whole codes only, then '+N more,' when they do not fit."""
    text = ","
    for shown, code in enumerate(codes):
        if len(text) + len(code) + 1 > MAX_SUMMARY - 16:
            return f"{text}+{len(codes) - shown} more,"
        text += code + ","
    return text if codes else ""


@receiver(face_data_event)
def record(sender, *, action, employee_codes=(), details=None, **kwargs):
    request = current_request.get()
    user = getattr(request, "user", None) if request is not None else None
    if isinstance(user, get_user_model()):
        actor, name = user, user.get_username()
    elif user is not None and user.is_authenticated:  # a device, e.g. an attendance kiosk
        actor, name = None, str(user)
    else:
        actor, name = None, ("anonymous" if request is not None else f"{getpass.getuser()} (command line)")
    codes = sorted({str(c)[:CODE_LENGTH] for c in employee_codes if c})
    with databases.atomic():  # the event and its employees, or neither
        event = AuditEvent.objects.create(
            actor=actor, actor_name=name[:150], address=request.META.get("REMOTE_ADDR") if request else None,
            via=("admin" if request.path.startswith("/admin/") else "api") if request else "command",
            action=action, employees=summary(codes), details=bounded_details(details),
        )
        AuditEmployee.objects.bulk_create([AuditEmployee(event=event, employee_code=c) for c in codes],
                                          batch_size=1000)


def purge_old_events(days: int, batch: int = 1000) -> int:
    """Delete audit events older than `days` days (the audit log's own retention), with their employee rows.

    In batches of ids: a bounded transaction each, and no delete through a subquery (MongoDB has none).
    """
    old = AuditEvent.objects.filter(at__lt=timezone.now() - timedelta(days=days)).order_by("pk")
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:batch]):
        with databases.atomic():
            AuditEmployee.objects.filter(event_id__in=ids).delete()
            deleted += AuditEvent.objects.filter(pk__in=ids).delete()[0]
    return deleted

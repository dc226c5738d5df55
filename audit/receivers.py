"""Turn entries' face-data events into audit rows, with who (user or token owner), where from and through what."""

import getpass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.dispatch import receiver
from django.utils import timezone

from entries.signals import face_data_event

from .middleware import current_request
from .models import AuditEvent


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
    codes = sorted({str(c) for c in employee_codes if c})
    AuditEvent.objects.create(
        actor=actor, actor_name=name[:150], address=request.META.get("REMOTE_ADDR") if request else None,
        via=("admin" if request.path.startswith("/admin/") else "api") if request else "command",
        action=action, employees=(",".join([""] + codes + [""]) if codes else "")[:2000], details=details or {},
    )


def purge_old_events(days: int) -> int:
    """Delete audit events older than `days` days (the audit log's own retention)."""
    deleted, _ = AuditEvent.objects.filter(at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted

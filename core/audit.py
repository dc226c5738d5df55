"""The audit vocabulary: one signal every app sends when face data is read, matched, changed or deleted.

The audit app records each event; other apps may react too (attendance forgets a deleted face's snapshots).
An action is an Action member, checked when it is sent, so a misspelt one fails at once instead of being stored.
"""

from django.db import models
from django.dispatch import Signal

# Arguments: action (an Action), employee_codes (a list), details (a JSON-able dict, never photo bytes).
# The sender is the model whose data the event concerns: FaceEntry, AttendanceEvent, Kiosk.
face_data_event = Signal()


class Action(models.TextChoices):
    VIEW_PHOTO = "view_photo", "viewed a photo"
    VIEW_EMBEDDINGS = "view_embeddings", "viewed embeddings"
    IDENTIFY = "identify", "identified a photo"
    VERIFY = "verify", "verified a photo"
    CREATE = "create", "registered"
    UPDATE = "update", "changed"
    DELETE = "delete", "deleted"
    ADD_PHOTO = "add_photo", "added a photo"
    REMOVE_PHOTO = "remove_photo", "removed a photo"
    PURGE = "purge", "deleted after retention"
    EXPORT = "export", "exported"
    IMPORT = "import", "imported"
    CLOCK = "clock", "clocked in or out"
    KIOSK_FRAMES = "kiosk_frames", "kiosk frames recognised, nobody clocked"
    DELETE_EVENT = "delete_event", "deleted an attendance event"
    VIEW_SNAPSHOT = "view_snapshot", "viewed a kiosk snapshot"
    KIOSK_KEY = "kiosk_key", "issued, re-keyed or revoked a kiosk key"
    LIVENESS = "liveness", "refused a clocking: liveness challenge failed"
    REVIEW = "review", "confirmed or rejected a flagged attendance event"
    NON_BIOMETRIC = "non_biometric", "added an employee without a face, or set their PIN or badge"
    WITHDRAW_CONSENT = "withdraw_consent", "deleted face data at the employee's request"
    PIN_LOCKOUT = "pin_lockout", "locked PIN clocking after wrong PINs"
    RESOLVE_DUPLICATE = "resolve_duplicate", "decided two alike faces are different people"


def emit(action: Action, *, sender, employee_codes=(), **details) -> None:
    """Send face_data_event; anything but an Action member raises TypeError before any receiver runs."""
    if not isinstance(action, Action):
        raise TypeError(f"An audited action is an Action member, not {action!r}.")
    face_data_event.send(sender=sender, action=action, employee_codes=list(employee_codes), details=details)

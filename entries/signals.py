from django.db.models.signals import pre_save
from django.dispatch import Signal, receiver

from .models import FaceEntry, FacePhoto

# Sent whenever face data is read, matched, changed or deleted, for the audit trail (the audit app).
# Arguments: action (see audit.models.Action), employee_codes, details (a JSON-able dict, never photo bytes).
face_data_event = Signal()


def emit(action: str, employee_codes=(), **details) -> None:
    face_data_event.send(sender=FaceEntry, action=action, employee_codes=list(employee_codes), details=details)


@receiver(pre_save, sender=FaceEntry)
@receiver(pre_save, sender=FacePhoto)
def embed_raw_saves(sender, instance, raw, **kwargs):
    """loaddata saves fixtures raw, around save(): embed them here too."""
    if raw:
        instance.ensure_embedding()

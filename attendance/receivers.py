"""A deleted face entry takes its kept kiosk snapshots and review frames with it; the attendance events stay."""

from django.dispatch import receiver

from core.audit import Action, face_data_event
from entries.models import FaceEntry

from . import services


@receiver(face_data_event, sender=FaceEntry)
def forget_deleted_faces(sender, *, action, employee_codes=(), **kwargs):
    if action in (Action.DELETE, Action.PURGE):
        services.forget_snapshots(employee_codes)

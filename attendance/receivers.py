"""A deleted face entry takes its kept kiosk snapshots with it; the attendance events stay (HR records)."""

from django.dispatch import receiver

from entries.signals import face_data_event

from . import services


@receiver(face_data_event)
def forget_deleted_faces(sender, *, action, employee_codes=(), **kwargs):
    if action in ("delete", "purge"):
        services.forget_snapshots(employee_codes)

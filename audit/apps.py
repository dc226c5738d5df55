from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Who saw, matched, changed and deleted whose face: one log, written from entries' events."""

    name = "audit"
    verbose_name = "audit trail"

    def ready(self):
        from . import receivers  # noqa: F401  (connects to entries' face_data_event)

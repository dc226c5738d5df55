from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Who saw, matched, changed and deleted whose face: one log, written from the face-data events every app sends."""

    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from . import receivers  # noqa: F401  (connects to core.audit's face_data_event)

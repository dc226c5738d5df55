"""The audit trail's settings (in the one FACEREC dict), with their defaults, read lazily."""

from django.conf import settings

DEFAULTS = {
    "AUDIT_RETENTION_DAYS": 730,  # audit events older than this are deleted by purge_audit
}


def get(name: str):
    """Return an audit setting, honouring override_settings in tests."""
    return getattr(settings, "FACEREC", {}).get(name, DEFAULTS[name])

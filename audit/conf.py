"""The audit trail's settings (in the one FACEREC dict), with their defaults, read lazily."""

from typing import Any

from core.conf import AppSettings

DEFAULTS: dict[str, Any] = {
    "AUDIT_RETENTION_DAYS": 730,  # audit events older than this are deleted by purge_audit
}
app_settings: AppSettings = AppSettings("FACEREC", DEFAULTS)
get = app_settings.get

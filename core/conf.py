"""Settings every app shares (in the one FACEREC dict), with their defaults, read lazily."""

from django.conf import settings

DEFAULTS = {
    # The largest image any app takes in; a request body may hold it in base64 (DATA_UPLOAD_MAX_MEMORY_SIZE).
    "MAX_IMAGE_BYTES": 10 * 1024 * 1024,
    "TOKEN_TTL_DAYS": 90,  # 0: tokens never expire
    "TOKEN_FAILURE_LIMIT": 20,  # wrong tokens from one address in 15 minutes before it gets 429
}


def get(name: str):
    """Return a shared setting, honouring override_settings in tests."""
    return getattr(settings, "FACEREC", {}).get(name, DEFAULTS[name])

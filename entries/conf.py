"""FaceRec's own settings: one FACEREC dict with defaults, read lazily."""

from django.conf import settings

DEFAULTS = {
    "MODEL": "Dlib",
    "DETECT_MAX_SIDE": 640,
    "DETECT_UPSAMPLE": 0,
    "MAX_IMAGE_BYTES": 10 * 1024 * 1024,
    "MAX_IMAGE_PIXELS": 40_000_000,
    "THUMBNAIL_SIZE": 96,
    # Recognition: None means "use the calibrated value" (entries/recognition/calibration.json).
    "VERIFY_THRESHOLD": None,
    "IDENTIFY_THRESHOLD": None,
    "IDENTIFY_FPIR": 0.01,
    "SEARCH_BACKEND": "auto",  # auto (pgvector on PostgreSQL when installed), exact, pgvector
}


def get(name: str):
    """Return a FaceRec setting, honouring override_settings in tests."""
    return getattr(settings, "FACEREC", {}).get(name, DEFAULTS[name])

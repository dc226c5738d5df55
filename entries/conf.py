"""FaceRec's own settings: one FACEREC dict with defaults, read lazily."""

from pathlib import Path

from django.conf import settings

DEFAULTS = {
    "MODEL": "MobileFaceNet",
    "MODELS_DIR": str(Path(__file__).resolve().parent.parent / "models"),  # scripts/install-models.sh puts weights
    "DETECT_MAX_SIDE": 640,
    "DETECT_UPSAMPLE": 0,
    "DETECT_FALLBACK_MAX_SIDE": 320,  # dlib's CNN detector when HOG finds no face; 0 turns it off
    # Enrolment quality gate (entries.recognition.quality); identify accepts any face.
    "QUALITY_MIN_EYE_DISTANCE": 20,
    "QUALITY_MIN_SHARPNESS": 20.0,
    "QUALITY_MAX_YAW": 0.4,
    "MAX_IMAGE_BYTES": 10 * 1024 * 1024,
    "MAX_IMAGE_PIXELS": 40_000_000,
    # PNG, WebP and HEIC cannot be decoded at reduced scale: 25 MP decodes in about 0.4 s (PNG) to 1 s (HEIC)
    # of CPU, the cost of the detectors on a photo with no face (bench/decode.py). Keeps iPhones' 24 MP HEIC.
    "MAX_FULL_DECODE_PIXELS": 25_000_000,
    "THUMBNAIL_SIZE": 96,
    "MAX_PHOTOS_PER_ENTRY": 10,
    "MAX_FACES_PER_PHOTO": 30,
    "REQUIRE_CONSENT": True,  # registration needs a consent reference
    "AUDIT_RETENTION_DAYS": 730,  # audit events older than this are deleted by purge_audit
    "RETENTION_DAYS": 30,  # kept this long after employment ends, then purge_expired deletes it
    "TOKEN_TTL_DAYS": 90,  # 0: tokens never expire
    "TOKEN_FAILURE_LIMIT": 20,  # wrong tokens from one address in 15 minutes before it gets 429
    # Recognition: None means "use the calibrated value" (entries/recognition/calibration.json).
    "VERIFY_THRESHOLD": None,
    "IDENTIFY_THRESHOLD": None,
    "IDENTIFY_FPIR": 0.01,
    "SEARCH_BACKEND": "auto",  # auto (pgvector on PostgreSQL when installed), exact, pgvector
    # The 1.x API inside one request, sized to gunicorn's 60 s timeout with half of it as margin (docs/api.md).
    "COMPAT_DATA_MAX_ENTRIES": 500,  # /Data/ entries per answer; more: 422 too_many_entries, page with offset/limit
}


def get(name: str):
    """Return a FaceRec setting, honouring override_settings in tests."""
    return getattr(settings, "FACEREC", {}).get(name, DEFAULTS[name])

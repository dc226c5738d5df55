from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class EntriesConfig(AppConfig):
    name = "entries"
    verbose_name = "Employees"

    def ready(self):
        from . import checks, signals  # noqa: F401  (registers checks and signal handlers)
        from .gallery import receivers  # noqa: F401  (keeps search data in step with the models)

        # The embedded default needs nothing started, not even its folder made.
        db = settings.DATABASES["default"]
        if db["ENGINE"].endswith("sqlite3") and str(db["NAME"]) != ":memory:":
            Path(db["NAME"]).parent.mkdir(parents=True, exist_ok=True)

"""Each app's settings, with their one default in the app's conf.py; and the settings every app shares.

settings.py passes on only what the environment sets (AppSettings.from_environ), so a default is never
written twice. The shared ones are in the one FACEREC dict with entries' and audit's.
"""

import os
from typing import Any

import environ
from django.conf import settings


class AppSettings:
    """One app's settings in a settings dict (FACEREC, ATTENDANCE), each with its default.

    The environment sets NAME as <namespace>_NAME, read as its default's type; a setting whose default is
    None declares its type in `types`. `get` reads the settings dict at every call, so override_settings works.
    """

    def __init__(self, namespace: str, defaults: dict, types: dict | None = None):
        self.namespace, self.defaults, self.types = namespace, defaults, types or {}
        untyped = [name for name, default in defaults.items() if default is None and name not in self.types]
        if untyped:
            raise TypeError(f"{namespace} {', '.join(untyped)}: a default of None needs its type in `types`.")

    def get(self, name: str):
        """Return a setting, honouring override_settings in tests."""
        return getattr(settings, self.namespace, {}).get(name, self.defaults[name])

    def from_environ(self) -> dict:
        """{name: value} for each setting the environment sets, cast to its type: what settings.py passes on."""
        env = environ.Env()
        return {name: env.get_value(f"{self.namespace}_{name}", cast=self.types.get(name, type(default)))
                for name, default in self.defaults.items() if f"{self.namespace}_{name}" in os.environ}


DEFAULTS: dict[str, Any] = {
    # The largest image any app takes in; a request body may hold it in base64 (DATA_UPLOAD_MAX_MEMORY_SIZE).
    "MAX_IMAGE_BYTES": 10 * 1024 * 1024,
    # The largest request body a view marked core.middleware.large_body takes (a ZIP of photos for an import).
    "MAX_ARCHIVE_BYTES": 512 * 1024 * 1024,
    "TOKEN_TTL_DAYS": 90,  # 0: tokens never expire
    "TOKEN_FAILURE_LIMIT": 20,  # wrong tokens from one address in 15 minutes before it gets 429
}
app_settings: AppSettings = AppSettings("FACEREC", DEFAULTS)
get = app_settings.get

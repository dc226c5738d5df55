from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Imports and background jobs"

    def ready(self):
        from django.utils.module_loading import autodiscover_modules

        from . import kinds  # noqa: F401  (the purge job)

        autodiscover_modules("jobs")  # each app's kinds of job (entries/jobs.py)

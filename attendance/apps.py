from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    """Time and attendance: camera kiosks clock employees in and out; HR reads timesheets.

    Uses entries only through its public services (identification, services) and read models; sends and
    hears face-data events through core.audit.
    """

    name = "attendance"
    verbose_name = "Time and attendance"

    def ready(self):
        from . import receivers  # noqa: F401  (forgets kept snapshots when a face entry is deleted)

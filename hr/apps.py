from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class HrConfig(AppConfig):
    """HR's front door: the admin's home page (a dashboard), its vocabulary and the preset roles.

    Holds no models and writes nothing: it reads the other apps through their services and read models.
    """

    name = "hr"
    verbose_name = "HR"


class FaceRecAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with FaceRec's site (hr.sites) as `admin.site`, so every app's @admin.register uses it."""

    default = False  # "hr" alone in INSTALLED_APPS is HrConfig
    default_site = "hr.sites.FaceRecAdminSite"

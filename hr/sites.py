"""The admin site HR sees: FaceRec's name, HR's words for the sections, the technical ones under Security."""

from django.contrib import admin

from . import dashboard

# Sections in the order HR reaches for them; the name each is shown under when it is not the app's own.
ORDER = ["entries", "attendance", "jobs", "audit", "auth", "security", "django_tasks_database"]
RENAMED = {"auth": "Users and roles", "django_tasks_database": "Task queue (technical)"}
# API tokens and the password-guessing lockouts: for administrators, one section of their own.
SECURITY_APPS = ("authtoken", "axes")
SECURITY = "security"


class FaceRecAdminSite(admin.AdminSite):
    site_header = "FaceRec"
    site_title = "FaceRec"
    index_title = "Today"
    index_template = "admin/hr/dashboard.html"

    def get_app_list(self, request, app_label=None):
        """Each section under HR's name; tokens and lockouts together under Security (shown to those who may
        see them: their model permissions, which no preset role holds)."""
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        security = [app for app in apps if app["app_label"] in SECURITY_APPS]
        shown = [{**app, "name": RENAMED.get(app["app_label"], app["name"])}
                 for app in apps if app["app_label"] not in SECURITY_APPS]
        if security:
            shown.append({"name": "Security", "app_label": SECURITY, "app_url": security[0]["app_url"],
                          "has_module_perms": True,
                          "models": [model for app in security for model in app["models"]]})
        rank = {label: n for n, label in enumerate(ORDER)}
        return sorted(shown, key=lambda app: rank.get(app["app_label"], len(ORDER)))

    def index(self, request, extra_context=None):
        """The dashboard: each tile the user may open, with its figures and a link to the filtered list."""
        return super().index(request, {"tiles": dashboard.tiles(request), **(extra_context or {})})

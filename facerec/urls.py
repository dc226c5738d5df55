from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from attendance import urls as attendance_urls
from core.api import errors
from entries.api import compat

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/attendance/", include(attendance_urls.api_urlpatterns)),
    path("kiosk/", include(attendance_urls.kiosk_urlpatterns)),
    path("api/", include("jobs.api")),
    path("api/", include("entries.api.urls")),
    path("api/auth/", include("rest_framework.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),  # CSP: no inline JS
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    *compat.urls(),  # the original FaceRec 1.x API at its own paths
]

handler404 = errors.not_found  # JSON for API clients, Django's pages for the admin and the kiosk
handler500 = errors.server_error

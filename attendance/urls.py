from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, views

router = SimpleRouter()
router.register("events", api.EventViewSet, basename="attendance-event")
router.register("employees", api.NonBiometricEmployeeViewSet, basename="attendance-employee")

api_urlpatterns = [
    path("clock/", api.KioskViewSet.as_view({"post": "clock"}), name="attendance-clock"),
    path("clock/challenge/", api.KioskViewSet.as_view({"post": "challenge"}), name="attendance-challenge"),
    path("clock/pin/", api.KioskViewSet.as_view({"post": "clock_pin"}), name="attendance-clock-pin"),
    path("withdraw-consent/", api.WithdrawConsentView.as_view(), name="attendance-withdraw-consent"),
    path("kiosk/", api.KioskViewSet.as_view({"get": "kiosk"}), name="attendance-kiosk"),
    path("timesheet/", api.TimesheetView.as_view(), name="attendance-timesheet"),
    *router.urls,
]

kiosk_urlpatterns = [
    path("", views.kiosk_page, name="kiosk"),
]

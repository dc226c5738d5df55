from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import conf


@require_GET
def kiosk_page(request):
    """The kiosk's page: the camera, and the answer in large type. Its key comes from the pairing link."""
    return render(request, "attendance/kiosk.html", {
        "interval_ms": 500, "debounce_seconds": conf.get("DEBOUNCE_SECONDS"),
    })

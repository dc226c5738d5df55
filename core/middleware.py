"""Refuse a request body over the limit before anything reads it; never let face data be cached."""

from django.conf import settings
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control
from rest_framework.views import APIView

from . import conf


def large_body(view):
    """Mark a view that takes an archive (FACEREC MAX_ARCHIVE_BYTES) rather than a photo as its largest body."""
    view.large_body = True
    return view


class RefuseLargeBodies:
    """An anonymous 200 MB upload to the login page would otherwise be spooled to disk first.

    The limit is the largest photo plus base64's overhead (DATA_UPLOAD_MAX_MEMORY_SIZE), or MAX_ARCHIVE_BYTES
    for a view marked `large_body` (the admin's ZIP import). Bodies sent without a Content-Length (chunked) are
    bounded by the proxy in front (docs/operations.md, Security).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit and length > limit and self._takes_archives(request):
            limit = max(limit, conf.get("MAX_ARCHIVE_BYTES"))
        if limit and length > limit:
            return JsonResponse({"code": "request_too_large",
                                 "message": f"The request body is {length} bytes; the limit is {limit} bytes."},
                                status=413)
        return self.get_response(request)

    @staticmethod
    def _takes_archives(request) -> bool:
        try:
            return getattr(resolve(request.path_info).func, "large_body", False)
        except Resolver404:
            return False


class NeverCacheFaceData:
    """Every API answer (the 1.x API's too) and every admin page is `Cache-Control: no-store`.

    Photos, embeddings and who was recognised are biometric data: no browser or proxy keeps a copy. Marked
    here, by the view that answered (any DRF view, or the admin site), so no view can forget it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = request.resolver_match
        if match is not None and (isinstance(getattr(match.func, "cls", None), type)
                                  and issubclass(match.func.cls, APIView) or "admin" in match.app_names):
            patch_cache_control(response, no_store=True)
        return response

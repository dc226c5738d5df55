"""Refuse a request body over the limit from its Content-Length, before anything reads or spools it."""

from django.conf import settings
from django.http import JsonResponse


class RefuseLargeBodies:
    """An anonymous 200 MB upload to the login page would otherwise be spooled to disk first.

    The limit is the largest photo plus base64's overhead (DATA_UPLOAD_MAX_MEMORY_SIZE). Bodies sent
    without a Content-Length (chunked) are bounded by the proxy in front (README, Production).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit and length > limit:
            return JsonResponse({"code": "request_too_large",
                                 "message": f"The request body is {length} bytes; the limit is {limit} bytes."},
                                status=413)
        return self.get_response(request)

"""One exception handler: every API error is JSON with a message and a machine code.

Body: {"code": "...", "message": "...", "details": {...}} (details optional,
per-field messages for validation errors).
"""

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from ..exceptions import FaceRecError, ServiceUnavailable

log = logging.getLogger(__name__)


def _body(code, message, details=None):
    body = {"code": code, "message": message}
    if details:
        body["details"] = details
    return body


def _first_message(detail):
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key == "non_field_errors" else f"{key}: {message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    request = context.get("request")
    if isinstance(exc, (OperationalError, InterfaceError)):
        log.exception("database unavailable")
        exc = ServiceUnavailable("The database is unavailable; try again in a moment.")
    if isinstance(exc, FaceRecError):
        if request is not None:
            exc = exc.shown_to(request)  # e.g. whose face a duplicate is: only for those who may view entries
        return Response(_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(_body("request_too_large", "The request body is too large."),
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _body("invalid", _first_message(exc.detail), exc.detail)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = _body(codes if isinstance(codes, str) else exc.default_code, str(exc.detail))
    return response


PAGES = ("/admin/", "/kiosk/", "/static/")  # HTML for people; everything else is answered to API clients


def not_found(request, exception):
    """handler404: a path no view matches (e.g. an employee code with a space) is a JSON 404 outside the pages."""
    if request.path.startswith(PAGES):
        return defaults.page_not_found(request, exception)
    return JsonResponse(_body("not_found", f"Nothing at {request.path}."), status=404)


def server_error(request):
    """handler500: an API client gets JSON, the admin Django's page (the traceback goes to the log)."""
    if request.path.startswith(PAGES):
        return defaults.server_error(request)
    return JsonResponse(_body("server_error", "Internal error; it has been logged."), status=500)

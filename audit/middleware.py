"""The request being served, for audit events raised deep inside services."""

from contextvars import ContextVar

current_request: ContextVar = ContextVar("facerec_audit_request", default=None)


class RequestContextMiddleware:
    """Remember the request being served, so an event knows its user (DRF sets it on authentication) and address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)

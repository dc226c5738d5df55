"""Kiosks authenticate with their own key (`Authorization: Kiosk <key>`), accepted by the clock endpoint only.

A kiosk is not a user: it has no password, no permissions and no session, so the admin, the entries API and
identify refuse it (401/403) whatever HR grants to users.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import Kiosk

SCHEME = "Kiosk"


class KioskDevice:
    """request.user on a kiosk's request."""

    is_authenticated = True
    is_active = True
    is_staff = is_superuser = is_anonymous = False

    def __init__(self, kiosk: Kiosk):
        self.kiosk = kiosk
        self.pk = f"kiosk-{kiosk.pk}"  # throttles count per kiosk

    def __str__(self):
        return f"kiosk {self.kiosk.name}"

    def has_perm(self, perm, obj=None):
        return False

    def get_username(self):
        return str(self)


class KioskKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace") != SCHEME:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send 'Authorization: Kiosk <key>'."))
        kiosk = Kiosk.for_key(parts[1].decode(errors="replace"))
        if kiosk is None:
            raise exceptions.AuthenticationFailed(_("Unknown or revoked kiosk key: ask HR to pair this kiosk again."))
        return KioskDevice(kiosk), kiosk

    def authenticate_header(self, request):
        return SCHEME


class KioskKeyScheme(OpenApiAuthenticationExtension):
    """The kiosk key in the OpenAPI schema."""

    target_class = KioskKeyAuthentication
    name = "kioskKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "A kiosk's key, from its pairing link: `Kiosk <key>`."}

"""Token authentication that expires tokens and slows down an address guessing them."""

import logging
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled

from .. import conf

log = logging.getLogger(__name__)
WINDOW = 15 * 60  # seconds a failed token attempt is remembered


class GuardedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token …`, refused once older than FACEREC_TOKEN_TTL_DAYS; after
    FACEREC_TOKEN_FAILURE_LIMIT wrong tokens from one address in 15 minutes, that address gets 429.
    A token is revoked by deleting it (admin, Tokens) or replaced with `drf_create_token -r USER`."""

    def authenticate(self, request):
        address = request.META.get("REMOTE_ADDR", "")
        key = f"facerec:bad-token:{address}"
        if cache.get(key, 0) >= conf.get("TOKEN_FAILURE_LIMIT"):
            raise Throttled(wait=WINDOW, detail="Too many wrong tokens from this address; try again later.")
        try:
            found = super().authenticate(request)
        except AuthenticationFailed:
            if not cache.add(key, 1, WINDOW):
                cache.incr(key)
            log.warning("failed token authentication from %s", address)
            raise
        if found is not None:
            days = conf.get("TOKEN_TTL_DAYS")
            if days and found[1].created < timezone.now() - timedelta(days=days):
                log.warning("expired token of %s used from %s", found[0], address)
                raise AuthenticationFailed("The token has expired; ask for a new one.")
        return found

import hmac
from datetime import timedelta

from django.contrib.auth import authenticate
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import APIException, AuthenticationFailed

from portal import lockout
from portal.api.tokens import hash_key
from portal.models import ApiToken
from portal.validators import is_plausible_login_name

# Writing last_used on every request would turn each API read into a write; a minute's
# precision is enough to tell a live token from a forgotten one.
LAST_USED_PRECISION = timedelta(minutes=1)


class LockedOut(APIException):
    """429 with the lockout's message and a Retry-After header (DRF sends ``wait`` as one)."""

    status_code = 429
    default_code = "locked_out"

    def __init__(self, request):
        super().__init__(lockout.message(request))
        self.wait = lockout.retry_after(request)


class InvalidToken(AuthenticationFailed):
    """No token has this key: a guess, unlike an expired token or an inactive owner."""


class BasicAuthentication(authentication.BasicAuthentication):
    """HTTP Basic with a user's password, under the same lockout as the login page."""

    def authenticate_credentials(self, userid, password, request=None):
        if not is_plausible_login_name(userid):
            raise AuthenticationFailed(
                _("Invalid basic header: the username is missing, too long or has invalid characters.")
            )
        # Django's request, not DRF's wrapper: axes marks it, and its middleware reads the marks.
        http_request = getattr(request, "_request", request)
        # Axes' backend refuses a locked-out client before the password is hashed.
        user = authenticate(request=http_request, username=userid, password=password)
        if user is None:
            if lockout.locked_out(http_request):
                raise LockedOut(http_request)
            raise AuthenticationFailed(_("Invalid username/password."))
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        return user, None


class TokenAuthentication(BaseAuthentication):
    """``Authorization: Token <key>`` with a personal API token from the profile page."""

    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_('Invalid token header: send "Token" followed by one key.'))
        try:
            key = parts[1].decode("ascii")
        except UnicodeError:
            raise AuthenticationFailed(_("Invalid token header: the key has invalid characters.")) from None
        # A token names no user: guesses are counted per client address.
        http_request = getattr(request, "_request", request)
        if lockout.is_locked(http_request, None):
            raise LockedOut(http_request)
        try:
            return self.authenticate_key(key)
        except InvalidToken:
            if lockout.record_failure(http_request, None):
                raise LockedOut(http_request) from None
            raise

    def authenticate_key(self, key: str):
        digest = hash_key(key)
        token = ApiToken.objects.select_related("user").filter(key_hash=digest).first()
        # The lookup is by hash, so timing reveals nothing about the key; the comparison is
        # constant-time anyway in case a database compares case-insensitively or pads.
        if token is None or not hmac.compare_digest(token.key_hash, digest):
            raise InvalidToken(_("Invalid or revoked API token."))
        if token.is_expired:
            raise AuthenticationFailed(
                _("This API token expired on %(date)s; create a new one on your profile page.")
                % {"date": date_format(token.expires, "DATETIME_FORMAT")}
            )
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        now = timezone.now()
        if token.last_used is None or now - token.last_used > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
            token.last_used = now
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class BasicAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = BasicAuthentication
    name = "basicAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": _('A personal API token from the profile page, sent as "Token <key>".'),
        }

import hmac
from datetime import timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from portal.api.tokens import hash_key
from portal.models import ApiToken

# Writing last_used on every request would turn each API read into a write; a minute's
# precision is enough to tell a live token from a forgotten one.
LAST_USED_PRECISION = timedelta(minutes=1)


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
        return self.authenticate_key(key)

    def authenticate_key(self, key: str):
        digest = hash_key(key)
        token = ApiToken.objects.select_related("user").filter(key_hash=digest).first()
        # The lookup is by hash, so timing reveals nothing about the key; the comparison is
        # constant-time anyway in case a database compares case-insensitively or pads.
        if token is None or not hmac.compare_digest(token.key_hash, digest):
            raise AuthenticationFailed(_("Invalid or revoked API token."))
        if token.is_expired:
            raise AuthenticationFailed(
                _("This API token expired on %(date)s; create a new one on your profile page.")
                % {"date": date_format(token.expires, "DATETIME_FORMAT")})
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        now = timezone.now()
        if token.last_used is None or now - token.last_used > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
            token.last_used = now
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": _('A personal API token from the profile page, sent as "Token <key>".'),
        }

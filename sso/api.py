"""``Authorization: Bearer <access token>`` from the identity provider, for the REST API.

CI pipelines get a token from the provider (e.g. client credentials) and need no Wharf password.
The token's signature is checked against the provider's keys, and its ``iss``, ``aud``
(WHARF_OIDC_API_AUDIENCE) and ``exp``. The caller is the user of (issuer, sub), created at first
use, with roles from the token's group claim exactly as at a browser sign-in.
"""

import logging

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from sso import conf, discovery, services, tokens
from sso.errors import SignInFailed

log = logging.getLogger(__name__)


class BearerAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if not conf.enabled():
            raise AuthenticationFailed(
                _('This Wharf accepts no identity provider tokens; use a personal API token ("Token <key>").')
            )
        if len(parts) != 2:
            raise AuthenticationFailed(_('Invalid bearer header: send "Bearer" followed by one token.'))
        try:
            token = parts[1].decode("ascii")
        except UnicodeError:
            raise AuthenticationFailed(
                _("Invalid bearer header: the token has invalid characters.")
            ) from None
        try:
            claims = tokens.verify_access_token(token)
            user = services.sign_in(discovery.metadata().issuer, claims, via="api")
        except SignInFailed as error:
            log.warning("API bearer token refused: %s", error.reason)
            raise AuthenticationFailed(str(error.message)) from None
        return user, None

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = BearerAuthentication
    name = "providerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": _("An access token from the identity provider (when single sign-on is set up)."),
        }

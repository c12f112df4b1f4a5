"""Authentication backends: local passwords, and the OpenID provider (mozilla-django-oidc).

mozilla-django-oidc runs the protocol (state, nonce, PKCE, code exchange, JWKS lookup). Wharf
adds what it leaves open: the endpoints come from discovery, the ID token's ``iss`` and ``aud``
are checked as well as its signature and ``exp``, and users are found by (issuer, sub), never by
e-mail, with their roles set from the group claim at every sign-in.
"""

import logging

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from sso import conf, discovery, services, tokens
from sso.errors import CallbackMismatch, ProviderUnavailable, TokenRejected

log = logging.getLogger(__name__)

# Claims about the token itself; the userinfo answer must not replace them.
TOKEN_CLAIMS = {
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "nonce",
    "azp",
    "at_hash",
    "c_hash",
    "auth_time",
    "sid",
    "jti",
    "sub",
}


class LocalLoginBackend(ModelBackend):
    """Username and password. With WHARF_LOCAL_LOGIN off, only superusers: the break-glass
    account for when the provider is down. Applies to the login page, HTTP Basic on the API,
    and sessions made by local login before it was turned off."""

    def user_can_authenticate(self, user):
        if not super().user_can_authenticate(user):
            return False
        return settings.WHARF_LOCAL_LOGIN or user.is_superuser


class OIDCBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(conf.mozilla_setting)

    def __init__(self, *args, **kwargs):
        # Django builds every backend for every authenticate() call, a local login's too: read
        # nothing from the provider here, or a provider that is down would break local login.
        self.UserModel = get_user_model()
        self.provider = None

    # Keyword-only and required: a username/password login never reaches this backend.
    def authenticate(self, request, *, nonce, code_verifier):
        if request is None or not conf.enabled():
            return None
        self.provider = discovery.metadata()
        self.OIDC_OP_TOKEN_ENDPOINT = self.provider.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = self.provider.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = self.provider.jwks_uri
        self.OIDC_RP_CLIENT_ID = settings.WHARF_OIDC_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.WHARF_OIDC_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = self.provider.signing_algorithms[0]
        self.OIDC_RP_IDP_SIGN_KEY = None
        try:
            return super().authenticate(request, nonce=nonce, code_verifier=code_verifier)
        except requests.HTTPError as error:
            response = error.response
            status = response.status_code if response is not None else None
            code = _oauth_error(response)
            where = response.url if response is not None else "the provider"
            if status is not None and 400 <= status < 500 and code:
                # invalid_grant: the code was used already, expired, or the PKCE verifier differs.
                raise CallbackMismatch(f"{where} refused the code exchange: HTTP {status} {code}") from None
            raise ProviderUnavailable(f"{where} answered HTTP {status} {code}".strip()) from None
        except requests.RequestException as error:
            raise ProviderUnavailable(
                f"the provider could not be reached: {error.__class__.__name__}: {error}"
            ) from None

    def get_user(self, user_id):
        # ModelBackend's, which refuses inactive users (mozilla-django-oidc's does not).
        return ModelBackend.get_user(self, user_id)

    def verify_token(self, token, **kwargs):
        kind = "ID token"
        if not token:
            raise TokenRejected("the provider's token response has no id_token")
        alg = tokens.header(token, kind=kind, algorithms=self.provider.signing_algorithms)["alg"]
        # A fresh look at the provider's keys at every sign-in, so rotated keys are always known.
        try:
            key = self.retrieve_matching_jwk(token)
        except KeyError as error:
            raise TokenRejected(f"{kind} or a key at {self.provider.jwks_uri} has no {error}") from None
        except SuspiciousOperation:
            raise TokenRejected(
                f"{kind} is signed by key {tokens.key_id(token)!r}, which the provider "
                f"does not publish at {self.provider.jwks_uri}"
            ) from None
        except (jwt.PyJWTError, ValueError) as error:
            raise TokenRejected(f"the provider's key for the {kind} is unusable: {error}") from None
        claims = tokens.decode(
            token,
            key,
            kind=kind,
            algorithm=alg,
            audience=settings.WHARF_OIDC_CLIENT_ID,
            issuer=self.provider.issuer,
        )
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != settings.WHARF_OIDC_CLIENT_ID:
            raise TokenRejected(f"{kind} names several audiences but azp is {claims.get('azp')!r}")
        if "nonce" in kwargs and claims.get("nonce") != kwargs["nonce"]:
            raise CallbackMismatch(f"{kind} nonce does not match the one this browser's sign-in sent")
        return claims

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, completed by the userinfo endpoint where the provider has one
        (many providers send groups and profile only there)."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT and access_token:
            info = super().get_userinfo(access_token, id_token, payload)
            if not isinstance(info, dict):
                raise ProviderUnavailable("the userinfo endpoint did not answer a JSON object")
            if info.get("sub") != payload.get("sub"):
                # OpenID Connect Core 5.3.2: otherwise the answer may be about someone else.
                raise TokenRejected("the userinfo answer is about another subject than the ID token")
            claims.update({name: value for name, value in info.items() if name not in TOKEN_CLAIMS})
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        return services.sign_in(self.provider.issuer, claims, via="browser")


def _oauth_error(response) -> str:
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else ""

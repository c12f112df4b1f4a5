"""The token service's two public endpoints: the realm registries send clients to, and the
certificate bundle registries trust. Registry clients, not browsers, call them: no session, no
CSRF, no login redirect; answers are JSON in the Docker registry's error shape."""

import base64
import binascii
import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from portal import lockout, metrics
from portal.validators import is_plausible_login_name
from registries.models import Registry
from registries.tokens.errors import TokenError
from registries.tokens.grant import grant
from registries.tokens.keys import certificate_bundle, issue_token
from registries.tokens.principals import authenticate
from registries.tokens.scopes import parse_scopes
from registries.tokens.service import bundle_registry, token_registry

logger = logging.getLogger("wharf.tokens")

BASIC_CHALLENGE = 'Basic realm="Wharf"'


def _error(status: int, code: str, message: str) -> JsonResponse:
    # The registry's {"errors": [...]} for Docker clients, and the OAuth 2 fields (lowercase
    # code) the token specification's clients also read.
    return JsonResponse(
        {"errors": [{"code": code, "message": message}], "error": code.lower(), "error_description": message},
        status=status,
    )


def _unauthorized() -> JsonResponse:
    response = _error(401, "UNAUTHORIZED", _("Wrong username or password."))
    response["WWW-Authenticate"] = BASIC_CHALLENGE
    return response


def _locked_out(request: HttpRequest) -> JsonResponse:
    # The registry's code for "too many requests"; Docker clients show the message.
    response = _error(429, "TOOMANYREQUESTS", lockout.message(request))
    seconds = lockout.retry_after(request)
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """(username, password); ("", "") without an Authorization header; None if malformed."""
    header = request.headers.get("Authorization", "")
    if not header:
        return "", ""
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep or not is_plausible_login_name(username):
        return None
    return username, password


def _is_locked(request: HttpRequest, registry: Registry, username: str) -> bool:
    """Whether the client is locked out: asked before any password is checked, so a locked-out
    client is refused even with the right one, and costs no password hash."""
    # A workspace credential's lookup already asked whether its name has failures on record.
    on_record = getattr(registry.wharf_credential, "wharf_failures_on_record", None)
    return bool(username) and lockout.is_locked(request, username, username_on_record=on_record)


def _refused(request: HttpRequest, registry: Registry, credentials: tuple[str, str] | None) -> JsonResponse:
    """The answer to wrong credentials: 401, or 429 when this failure started a lockout."""
    if lockout.locked_out(request):  # this failure started a lockout
        return _locked_out(request)
    # The username only, never what was sent as the password.
    name = credentials[0][:150] if credentials else "(malformed Authorization header)"
    logger.info("token refused for %r at registry %s: wrong credentials", name, registry.name)
    metrics.token_denied("credentials")
    return _unauthorized()


@csrf_exempt
@never_cache
@require_GET
def token(request: HttpRequest) -> JsonResponse:
    """``GET /auth/token?service=<registry>&scope=<scope>...`` with optional Basic credentials."""
    credentials = _basic_credentials(request)
    try:
        scopes = parse_scopes(request.GET.getlist("scope"))
        registry = token_registry(request.GET.get("service", ""), *(credentials or ()))
    except TokenError as error:
        metrics.token_denied(error.code.lower())
        return _error(error.status, error.code, error.message)
    principal = None
    if credentials is not None:
        if _is_locked(request, registry, credentials[0]):
            return _locked_out(request)
        principal = authenticate(registry, *credentials, request=request)
    if principal is None:
        return _refused(request, registry, credentials)
    access = grant(principal, registry, scopes)
    try:
        answer = issue_token(registry, principal, access)
    except TokenError as error:
        metrics.token_denied(error.code.lower())
        return _error(error.status, error.code, error.message)
    metrics.token_issued(len(scopes), len(access))
    return JsonResponse(answer)


@never_cache
@require_GET
def certificates(request: HttpRequest) -> HttpResponse:
    """The PEM bundle of the token signing certificates a registry must trust: its
    rootcertbundle. ``?service=<token service id>`` names the registry (it trusts its own keys
    only); without it, the shared bundle of registries that have no keys of their own."""
    service = request.GET.get("service")
    registry = None
    if service is not None:
        registry = bundle_registry(service)
        if registry is None:
            return HttpResponse(
                _("No Docker Registry of Wharf's has this token service id.") + "\n",
                status=404,
                content_type="text/plain; charset=utf-8",
            )
    bundle = certificate_bundle(registry)
    if not bundle:
        return HttpResponse(
            _("No token signing key yet: run manage.py token_keys --create.") + "\n",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(bundle, content_type="application/x-pem-file")
    response["Content-Disposition"] = 'inline; filename="wharf-token-certificates.pem"'
    return response

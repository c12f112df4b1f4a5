import ipaddress
import re
import uuid
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponseNotAllowed, JsonResponse
from django.utils.translation import gettext as _

from portal import audit

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]):
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def from_trusted_proxy(request) -> bool:
    """Whether the connection comes from one of WHARF_TRUSTED_PROXIES (none by default)."""
    networks = _networks(tuple(settings.WHARF_TRUSTED_PROXIES))
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in networks)


class RequestIdMiddleware:
    """Tag each request (and the audit events it writes) with an id.

    A trusted proxy's X-Request-ID is kept, so its logs and Wharf's audit log line up; from
    anyone else the header is ignored, or a client could plant any id in the audit log.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        trusted = _SAFE_REQUEST_ID.match(incoming) and from_trusted_proxy(request)
        request.request_id = incoming if trusted else uuid.uuid4().hex
        token = audit.current_request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            audit.current_request_id.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


# The methods any view of Wharf answers; each view narrows them further (require_GET, ...).
KNOWN_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class KnownMethodsMiddleware:
    """405 for TRACE, CONNECT and any other method no view of Wharf implements."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in KNOWN_METHODS:
            return HttpResponseNotAllowed(KNOWN_METHODS)
        return self.get_response(request)


API_PREFIX = "/api/"


class SingleQueryParametersMiddleware:
    """The API takes each query parameter at most once.

    Django's QueryDict answers the last of repeated values, so ``?page=1&page=9`` or
    ``?workspace=1&workspace=2`` would quietly mean something the client may not have meant.
    No API parameter is a list, so a repeated one is refused as a 400 naming it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            repeated = sorted(name for name, values in request.GET.lists() if len(values) > 1)
            if repeated:
                return JsonResponse(
                    {name: [_("Give this parameter once.")] for name in repeated}, status=400)
        return self.get_response(request)

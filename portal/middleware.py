import logging
import re
import uuid
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import resolve_url
from django.utils.html import escape
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from portal import audit
from portal.proxies import from_trusted_proxy
from portal.redirects import is_same_site_path

logger = logging.getLogger("wharf.requests")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


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
                return JsonResponse({name: [_("Give this parameter once.")] for name in repeated}, status=400)
        return self.get_response(request)


class HtmxLoginRedirectMiddleware:
    """An htmx request whose session has expired goes to the login page as a whole page.

    Without this the browser follows the login redirect inside the request and htmx draws the
    login form where the fragment was to go (a dialog, a table). ``HX-Redirect`` makes htmx
    navigate instead; ``next`` is the page the user was on (``HX-Current-URL``), not the
    fragment's URL, so signing in brings them back to that page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if not htmx or response.status_code not in (301, 302, 303, 307, 308):
            return response
        login = resolve_url(settings.LOGIN_URL)
        location = urlsplit(response.get("Location", ""))
        # login_required's redirect names the page to come back to; a redirect to the login
        # page without one (after logging out) is not a session that expired.
        if location.path != login or REDIRECT_FIELD_NAME not in parse_qs(location.query):
            return response
        current = htmx.current_url_abs_path
        back_to = current if current and is_same_site_path(current) else request.get_full_path()
        redirect = HttpResponseClientRedirect(redirect_to_login(back_to, login)["Location"])
        redirect["Vary"] = "HX-Request"
        return redirect


DATABASE_RETRY_AFTER_SECONDS = 10


def database_unavailable(request, exception) -> HttpResponse | None:
    """The 503 for an error that means the database cannot be reached, else None.

    A database restart or failover is an outage clients should wait out, not a bug to report;
    kubelets, registries' clients and scripts retry a 503. The page is plain: rendering the
    layout would ask the database again (the user, the navigation).
    """
    if not isinstance(exception, (OperationalError, InterfaceError)):
        return None
    logger.error("database unavailable for %s %s: %s", request.method, request.path, exception)
    message = _("Wharf cannot reach its database right now. Please try again in a moment.")
    if request.path.startswith((API_PREFIX, "/auth/")):
        response = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(f"<!doctype html><title>503</title><p>{escape(message)}</p>", status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """While the database cannot be reached, answer 503 with Retry-After instead of a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return database_unavailable(request, exception)

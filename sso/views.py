"""Sign-in with the provider (start, callback) and logout that ends the provider's session too."""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from sso import conf, discovery
from sso.errors import CallbackMismatch, SignInFailed

log = logging.getLogger(__name__)


def sign_in_failed(request, error: SignInFailed):
    log.warning("sign-in with %s refused: %s", conf.provider_name(), error.reason)
    request.session.pop("oidc_id_token", None)
    return render(
        request,
        "sso/sign_in_failed.html",
        {"message": error.message, "provider_name": conf.provider_name()},
        status=error.status,
    )


class AuthenticateView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider with state, nonce and a PKCE challenge (kept in the session)."""

    get_settings = staticmethod(conf.mozilla_setting)

    def __init__(self, **kwargs):
        # The provider's endpoints come from discovery at request time, not from settings.
        View.__init__(self, **kwargs)

    def get(self, request):
        if not conf.enabled():
            raise Http404
        try:
            provider = discovery.metadata()
        except SignInFailed as error:
            return sign_in_failed(request, error)
        self.OIDC_OP_AUTH_ENDPOINT = provider.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = settings.WHARF_OIDC_CLIENT_ID
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back; every refusal is a page and a log line."""

    get_settings = staticmethod(conf.mozilla_setting)

    def get(self, request):
        if not conf.enabled():
            raise Http404
        states = request.session.get("oidc_states") or {}
        state = request.GET.get("state")
        if request.GET.get("error"):
            if state in states:  # never usable again
                del states[state]
                request.session.modified = True
            error = request.GET["error"][:100]
            description = request.GET.get("error_description", "")[:300]
            return sign_in_failed(
                request,
                SignInFailed(f"the provider answered error {error!r}: {description!r}"),
            )
        if not state or not request.GET.get("code"):
            return sign_in_failed(request, CallbackMismatch("the callback has no code or no state"))
        if state not in states:
            return sign_in_failed(
                request,
                CallbackMismatch(
                    "the callback's state is not one this browser's session started (forged, replayed "
                    "or from another browser)"
                ),
            )
        try:
            return super().get(request)
        except SignInFailed as error:
            return sign_in_failed(request, error)

    def login_failure(self):
        # Reached only when authentication answered no user without saying why.
        return sign_in_failed(self.request, SignInFailed("the sign-in produced no active user"))


class LogoutView(auth_views.LogoutView):
    """Ends the Wharf session and, for a provider sign-in, the provider's session as well
    (RP-initiated logout), when the provider offers an end_session_endpoint."""

    def post(self, request, *args, **kwargs):
        id_token = request.session.get("oidc_id_token")
        response = super().post(request, *args, **kwargs)
        if not id_token or not conf.enabled():
            return response
        try:
            provider = discovery.metadata()
        except SignInFailed as error:
            log.warning("logout: the provider's session was not ended: %s", error.reason)
            return response
        if not provider.end_session_endpoint:
            return response
        query = urlencode(
            {
                "id_token_hint": id_token,
                "client_id": settings.WHARF_OIDC_CLIENT_ID,
                "post_logout_redirect_uri": request.build_absolute_uri(
                    resolve_url(settings.LOGOUT_REDIRECT_URL)
                ),
            }
        )
        separator = "&" if "?" in provider.end_session_endpoint else "?"
        return HttpResponseRedirect(provider.end_session_endpoint + separator + query)

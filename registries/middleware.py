"""The token service's own lane through the middleware stack.

Registries' clients ask ``/auth/token`` hundreds of times a second (every pull of every
kubelet), with Basic credentials and nothing else: no session, no CSRF token, no page. Sessions,
locale, messages, CSP, htmx and axes' middleware do nothing for such a request but cost about a
fifth of its CPU, so the token views are called right after the middleware that does matter to
them (security headers, known methods, request ids, single query parameters, metrics); the
views check credentials and lockouts themselves. A database outage still answers 503.
"""

from django.urls import resolve

from portal.middleware import database_unavailable

TOKEN_PATHS = ("/auth/token", "/auth/certificates.pem")


class TokenServiceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        # Resolved once: the metrics middleware labels requests by their route.
        self.routes = {path: resolve(path) for path in TOKEN_PATHS}

    def __call__(self, request):
        match = self.routes.get(request.path_info)
        if match is None:
            return self.get_response(request)
        request.resolver_match = match
        try:
            return match.func(request)
        except Exception as error:
            response = database_unavailable(request, error)
            if response is None:
                raise
            return response

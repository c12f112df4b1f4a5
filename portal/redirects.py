"""Where to send the browser after an action: a ``next`` parameter, when it is safe."""

import unicodedata

from django.utils.http import url_has_allowed_host_and_scheme


def is_same_site_path(url: str) -> bool:
    """A path on this site: no scheme, no host (``//evil``, ``/\\evil`` and ``https://evil`` are
    other sites to a browser), and no control characters (which cannot go into a header)."""
    if not url or any(unicodedata.category(char)[0] == "C" for char in url):
        return False
    return url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None)


def next_url(request, default: str) -> str:
    """The submitted ``next`` if it is a path on this site, else ``default``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    return candidate if is_same_site_path(candidate) else default

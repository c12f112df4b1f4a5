"""URLs of many rows of a page from one ``reverse`` per route.

A ``{% url %}`` per row and link is a ``reverse`` each, which measured as half of a table row's
template work (bench/space_row_profile.py). A route is reversed once with a marker in place of
the argument that varies by row, and each row's URL is the marker's place filled in.
"""

import functools
from collections.abc import Callable

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

# A whole number that no real id shares its digits' place with: it fits an ``int`` converter.
NUMBER_MARKER = 987654321987654321


def url_maker(name: str, *args, marker=NUMBER_MARKER) -> Callable[[object], str]:
    """``value -> URL`` of route ``name`` with ``args`` and then the varying last argument.

    ``marker`` must be something the route's last converter accepts (the default fits ``int``
    and ``str``); the values given later are put in as they are (quote them if needed).
    """
    head, tail = reverse(name, args=[*args, marker]).rsplit(str(marker), 1)
    return lambda value: f"{head}{value}{tail}"


@functools.lru_cache(maxsize=4096)
def _reversed(name: str, args: tuple, kwargs: tuple, current_app, urlconf, prefix: str, language) -> str:
    # prefix and language are part of the key only: reverse() reads them itself.
    return reverse(name, urlconf=urlconf, args=args, kwargs=dict(kwargs), current_app=current_app)


def cached_reverse(name: str, args=(), kwargs=None, current_app=None) -> str:
    """``reverse`` remembered per route and arguments: the same answer, without walking the
    resolver again (about a tenth of a page's Python was the layout's ``reverse`` calls).

    Only whole numbers and strings are remembered as arguments: anything else (a model
    instance, whose ``str`` may change) is reversed each time.
    """
    kwargs = kwargs or {}
    values = (*args, *kwargs.values())
    if not isinstance(name, str) or any(type(value) not in (int, str) for value in values):
        return reverse(name, args=args, kwargs=kwargs, current_app=current_app)
    return _reversed(
        name,
        tuple(args),
        tuple(sorted(kwargs.items())),
        current_app,
        get_urlconf(),
        get_script_prefix(),
        get_language(),
    )


@receiver(setting_changed)
def _forget_reversed(*, setting, **kwargs):
    if setting == "ROOT_URLCONF":  # as django.urls.clear_url_caches does (tests override it)
        _reversed.cache_clear()

"""URLs of many rows of a page from one ``reverse`` per route.

A ``{% url %}`` per row and link is a ``reverse`` each, which measured as half of a table row's
template work (bench/space_row_profile.py). A route is reversed once with a marker in place of
the argument that varies by row, and each row's URL is the marker's place filled in.
"""

from collections.abc import Callable

from django.urls import reverse

# A whole number that no real id shares its digits' place with: it fits an ``int`` converter.
NUMBER_MARKER = 987654321987654321


def url_maker(name: str, *args, marker=NUMBER_MARKER) -> Callable[[object], str]:
    """``value -> URL`` of route ``name`` with ``args`` and then the varying last argument.

    ``marker`` must be something the route's last converter accepts (the default fits ``int``
    and ``str``); the values given later are put in as they are (quote them if needed).
    """
    head, tail = reverse(name, args=[*args, marker]).rsplit(str(marker), 1)
    return lambda value: f"{head}{value}{tail}"

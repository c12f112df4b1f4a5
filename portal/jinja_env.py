"""The Jinja2 environment of the template files under templates/jinja2/ (settings.TEMPLATES).

Only the longest tables' rows use it (registries/rows.py): Django's template engine cost about
0.9 ms per Registry space row and 0.5 ms per tag row, Jinja2 compiles a template to Python. It
escapes every ``{{ }}`` as Django's does (autoescape on) and refuses an unknown name or
attribute (StrictUndefined) instead of showing nothing. makemessages does not read Jinja2
syntax: the rows' texts are translated in Python (registries/rows.py) and handed in. The i18n
extension is there with Django's gettext for a template that needs ``_()`` on a constant.
"""

import jinja2
from django.template.defaultfilters import filesizeformat, urlencode
from django.utils.translation import gettext, ngettext


def minute(value) -> str:
    """A moment as Django's ``|date:"Y-m-d H:i"`` shows it, for a moment already in the time
    zone to show (a long table looks the zone up once per page, registries/rows.py)."""
    return f"{value:%Y-%m-%d %H:%M}"


def environment(**options) -> jinja2.Environment:
    options["undefined"] = jinja2.StrictUndefined
    options["trim_blocks"] = True
    options["lstrip_blocks"] = True
    options["extensions"] = [*options.get("extensions", ()), "jinja2.ext.i18n"]
    env = jinja2.Environment(**options)  # noqa: S701 (autoescape: Django's backend sets it on)
    env.install_gettext_callables(gettext, ngettext, newstyle=False)  # type: ignore[attr-defined]
    # Django's filters where Jinja2's differ (urlencode's safe characters) or are missing.
    env.filters.update({"filesizeformat": filesizeformat, "urlencode": urlencode, "minute": minute})
    return env

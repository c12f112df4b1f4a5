"""The rows of the two longest tables, the Registry space page and a repository's tags, and the
Choose Image picker's tag rows (which share the tag cells), as HTML.

Django's template engine spent about 0.9 ms of CPU per Registry space row and about 0.5 ms per
tag row on variable lookups, ``{% translate %}`` nodes, includes and filters
(bench/space_row_profile.py, bench/tag_row_profile.py): more than the rest of each page. The
rows are Jinja2 templates instead (templates/jinja2/, portal/jinja_env.py: compiled to Python,
every ``{{ }}`` escaped), all of a page's rows rendered in one call. Their fixed texts are
translated here once per page (``SpaceRowText``, ``TagRowText``, ``PickerTagText``), not once per
row, and here makemessages finds them: it does not read Jinja2 templates. The pages' Django
templates insert the rows; what a row shows is decided here and in the views.
"""

from django.template import engines
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import add_truncation_text
from django.utils.timezone import get_current_timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.jinja_env import minute
from registries.models import RegistrySpace

# How many bound workspaces the hover list names before "and N more" and "See all".
HOVER_LIST_NAMES = 10


def _render(name: str, context: dict) -> SafeString:
    # The environment keeps the compiled template; Django's wrapper (request, csrf) is not needed.
    template = engines["jinja2"].env.get_template(name)  # type: ignore[attr-defined]
    return mark_safe(template.render(context))  # noqa: S308 (Jinja2 escaped every value)


class _RowText:
    """What every long table's rows share: moments shown in the reader's time zone, looked up
    once per page rather than once per value."""

    def __init__(self):
        self.timezone = get_current_timezone()

    def when(self, value) -> str:
        """A moment as Django's ``|date:"Y-m-d H:i"`` shows it, in the reader's time zone."""
        return minute(value.astimezone(self.timezone))


class SpaceRowText(_RowText):
    """A Registry space row's texts, translated once for a page's rows."""

    def __init__(self):
        super().__init__()
        # The Type column's label per value, translated once (``get_visibility_display`` per row
        # translated it again and hashed the value).
        self.visibility = {value: str(label) for value, label in RegistrySpace.Visibility.choices}
        self.missing = _("missing")
        self.missing_title = _("Not found in the last complete listing of the registry")
        self.see_all = _("See all")
        self.soonest_title = _("The soonest end of a binding of this space")
        self.no_binding = _("No binding")
        self.bind = _("Bind/unbind workspace")
        self.make_private = _("Make private")
        self.make_public = _("Make public")
        self.delete = _("Delete")
        self.in_harbor = _("in Harbor")
        self.in_harbor_title = _("The robot accounts in Harbor allow these workspaces to pull")
        self.pending = _("pending")
        self.pending_title = _("The robot accounts in Harbor are being updated")
        self.failed = _("failed")
        self.retry = _("Retry")
        # Texts with a value in them: filled in per row by the template (then escaped).
        self.ends = _("ends %(when)s")
        self.actions_for = _("Actions for %(name)s")
        self.retry_for = _("Retry %(workspace)s")

    # Plurals, per row (rare: long hover lists, robots that failed more than once).
    @staticmethod
    def and_more(counter: int) -> str:
        return ngettext("and %(counter)s more", "and %(counter)s more", counter) % {"counter": counter}

    @staticmethod
    def see_all_label(counter: int, name: str) -> str:
        return ngettext(
            "See all %(counter)s workspaces bound to %(name)s",
            "See all %(counter)s workspaces bound to %(name)s",
            counter,
        ) % {"counter": counter, "name": name}

    @staticmethod
    def attempts(attempts: int) -> str:
        return ngettext("%(attempts)s attempt", "%(attempts)s attempts", attempts) % {"attempts": attempts}


def space_rows(spaces, csrf_input: str, retry_url) -> SafeString:
    """The Registry space rows: name, type, bound workspaces (hover list, soonest end, robots'
    propagation), images, created, and the ⋮ menu. Each space carries what
    ``registries.views._prepare_rows`` computed (``urls``, ``bound``, ``propagation``);
    ``csrf_input`` is the form field's HTML, ``retry_url(credential_pk)`` a robot's Retry."""
    if not spaces:
        return mark_safe("")
    return _render(
        "registries/_space_rows.html",
        {
            "spaces": spaces,
            "text": SpaceRowText(),
            "csrf_input": mark_safe(csrf_input),  # noqa: S308
            "retry_url": retry_url,
            "hover_names": HOVER_LIST_NAMES,
        },
    )


class MatrixRowText:
    """The spaces x workspaces grid's texts, translated once for a page's rows."""

    def __init__(self):
        self.public = _("public")


def matrix_rows(rows, *, show_registry: bool) -> SafeString:
    """The spaces x workspaces grid's rows: each ``row`` has ``space``, ``registry`` and
    ``cells`` ((value, workspace id, ticked) per column), built by registries.matrix_views; the
    registry's name is shown before each space's when the grid spans all registries."""
    if not rows:
        return mark_safe("")
    return _render(
        "registries/_matrix_rows.html",
        {"rows": rows, "show_registry": show_registry, "text": MatrixRowText()},
    )


class _TagCellText(_RowText):
    def __init__(self):
        super().__init__()
        # The ``truncatechars`` filter's ending, Django's own text ("…", in Chinese "..."): asked
        # once here, not once per row.
        self.ellipsis = add_truncation_text("")

    def short_digest(self, value: str, length: int = 19) -> str:
        """``value|truncatechars:length`` for text without combining characters (digests)."""
        if len(value) <= length:
            return value
        return value[: max(length - len(self.ellipsis), 0)] + self.ellipsis


class TagRowText(_TagCellText):
    """A repository page's tag row texts, translated once for a page's rows."""

    def __init__(self, *, scanning: bool, may_push: bool):
        super().__init__()
        self.scanning = scanning
        self.may_push = may_push
        self.copied = _("Copied")
        self.copy = _("Copy")
        self.show_scan = _("Show scan")
        self.not_supported = _("Not supported")
        self.layers = _("Layers")
        self.delete_tag = _("Delete tag")
        self.delete_image = _("Delete image")
        self.copy_for = _("Copy the pull command for %(tag)s")


def tag_rows(tags, *, scanning: bool, may_push: bool) -> SafeString:
    """A repository's tag rows, each with the row below it where layers or a scan open. Each tag
    carries ``reference``, ``layers_url``, ``scan_url`` and, when ``may_push``, ``delete_url``
    and ``delete_image_url`` (registries.image_views.repository_detail)."""
    if not tags:
        return mark_safe("")
    return _render(
        "images/_tag_rows.html", {"tags": tags, "text": TagRowText(scanning=scanning, may_push=may_push)}
    )


class PickerTagText(_TagCellText):
    """The Choose Image picker's tag row texts, translated once for a page's rows."""

    def __init__(self):
        super().__init__()
        self.choose = _("Choose")
        self.choose_for = _("Choose %(ref)s")


def picker_tag_rows(tags, *, create_url: str, namespace_pk: int) -> SafeString:
    """The picker's tag rows: the repository page's tag cells and a Choose button. Each tag carries
    ``reference`` and ``pinned`` (its digest reference, or "")."""
    if not tags:
        return mark_safe("")
    return _render(
        "images/_picker_tag_rows.html",
        {"tags": tags, "text": PickerTagText(), "create_url": create_url, "namespace_pk": namespace_pk},
    )

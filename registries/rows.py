"""The rows of the two longest tables, the Registry space page and a repository's tags, as HTML.

Django's template engine spent about 0.9 ms of CPU per Registry space row and about 0.5 ms per
tag row on variable lookups, ``{% translate %}`` nodes, includes and filters
(bench/space_row_profile.py, bench/tag_row_profile.py): more than the rest of each page. Here a
row is the same markup put together with f-strings, every value escaped with ``esc`` (what
``{{ }}`` does), and the fixed texts translated and escaped once per page (``SpaceRowText``,
``TagRowText``), not once per row. ``format_html`` was tried first: its per-argument checks
cost a third of the rows' time. The pages' templates insert the rows; what a row shows is
decided here and in the views.
"""

from html import escape

from django.template.defaultfilters import filesizeformat
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import add_truncation_text
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# How many bound workspaces the hover list names before "and N more" and "See all".
HOVER_LIST_NAMES = 10


def esc(value) -> str:
    """Django's ``escape`` (the same ``html.escape``), without its lazy-string wrapper."""
    return escape(str(value))


def _when(value) -> str:
    """A moment as ``|date:"Y-m-d H:i"`` shows it: in the current time zone."""
    return f"{template_localtime(value):%Y-%m-%d %H:%M}"


class SpaceRowText:
    """A Registry space row's fixed texts, translated and escaped once for a page's rows."""

    def __init__(self, csrf_input: str):
        self.csrf_input = csrf_input  # already HTML
        self.missing = esc(_("missing"))
        self.missing_title = esc(_("Not found in the last complete listing of the registry"))
        self.see_all = esc(_("See all"))
        self.soonest_title = esc(_("The soonest end of a binding of this space"))
        self.no_binding = esc(_("No binding"))
        self.bind = esc(_("Bind/unbind workspace"))
        self.make_private = esc(_("Make private"))
        self.make_public = esc(_("Make public"))
        self.delete = esc(_("Delete"))
        self.in_harbor = esc(_("in Harbor"))
        self.in_harbor_title = esc(_("The robot accounts in Harbor allow these workspaces to pull"))
        self.pending = esc(_("pending"))
        self.pending_title = esc(_("The robot accounts in Harbor are being updated"))
        self.failed = esc(_("failed"))
        self.retry = esc(_("Retry"))
        # Texts with a value in them: translated here, filled in per row (then escaped).
        self.ends = _("ends %(when)s")
        self.actions_for = _("Actions for %(name)s")
        self.retry_for = _("Retry %(workspace)s")


def _names(items) -> str:
    return esc(", ".join(item["workspace"].name for item in items))


def _propagation(status: dict, text: SpaceRowText, retry_url) -> str:
    """Whether the bindings of a private space reached Harbor: each bound workspace's robot account
    (pending / done / failed with the reason and Retry)."""
    parts = []
    if status["all_done"]:
        parts.append(f'\n  <span class="badge ok" title="{text.in_harbor_title}">{text.in_harbor}</span>')
    else:
        if status["done"]:
            parts.append(f'\n  <span class="badge ok" title="{text.in_harbor_title}">{text.in_harbor}</span>'
                         f'\n  {_names(status["done"])}')
        if status["pending"]:
            parts.append(f'\n  <span class="badge muted" title="{text.pending_title}">{text.pending}</span>'
                         f'\n  {_names(status["pending"])}')
    for item in status["failed"]:
        credential, name = item["credential"], item["workspace"].name
        attempts = ""
        if credential.attempts > 1:
            attempts = " ({})".format(esc(ngettext("%(attempts)s attempt", "%(attempts)s attempts",
                                                   credential.attempts) % {"attempts": credential.attempts}))
        url = esc(retry_url(credential.pk))
        parts.append(
            f'\n  <div class="propagation-failure" role="status">'
            f'\n    <span class="badge bad">{text.failed}</span>'
            f'\n    {esc(name)}: {esc(credential.error)}{attempts}'
            f'\n    <form method="post" action="{url}" class="propagation-retry"'
            f'\n          hx-post="{url}" hx-swap="none" hx-disabled-elt="find button[type=submit]">'
            f'{text.csrf_input}\n      <button type="submit" class="link-button"'
            f' aria-label="{esc(text.retry_for % {"workspace": name})}">{text.retry}</button>'
            f'\n    </form>\n  </div>')
    return f'\n<div class="propagation">{"".join(parts)}\n</div>'


def _workspace_cell(space, text: SpaceRowText, retry_url) -> str:
    bound = space.bound
    if not bound:
        return f'<span class="empty">{text.no_binding}</span>'
    count = len(bound)
    label = esc(bound[0].name) if count == 1 else f"{esc(bound[0].name)} +{count - 1}"
    lines = "".join(
        f"<li>{esc(workspace.name)}</li>" if not workspace.binding_ends else
        f"<li>{esc(workspace.name)} · {esc(text.ends % {'when': _when(workspace.binding_ends)})}</li>"
        for workspace in bound[:HOVER_LIST_NAMES])
    more = see_all = ends = propagation = ""
    if count > HOVER_LIST_NAMES:
        rest = count - HOVER_LIST_NAMES
        more = '\n    <li class="help">{}</li>'.format(
            esc(ngettext("and %(counter)s more", "and %(counter)s more", rest) % {"counter": rest}))
        bindings = esc(space.urls["bindings"])
        label_all = ngettext("See all %(counter)s workspaces bound to %(name)s",
                             "See all %(counter)s workspaces bound to %(name)s", count)
        label_all = esc(label_all % {"counter": count, "name": space.name})
        see_all = (f'\n<a class="see-all" href="{bindings}" hx-get="{bindings}" hx-target="#modal-body"'
                   f' hx-swap="innerHTML" aria-label="{label_all}">{text.see_all}</a>')
    soonest = space.soonest_binding_end
    if soonest:
        ends = (f'\n<span class="badge muted binding-ends" title="{text.soonest_title}">'
                f'{esc(text.ends % {"when": _when(soonest)})}</span>')
    if space.propagation:
        propagation = _propagation(space.propagation, text, retry_url)
    return (f'<span class="hover-list">\n  <span class="hover-list-label" tabindex="0"'
            f' aria-describedby="space-{space.pk}-workspaces">{label}</span>\n'
            f'  <ul class="hover-list-body" id="space-{space.pk}-workspaces" role="tooltip">\n'
            f'    {lines}{more}\n  </ul>\n</span>{see_all}{ends}{propagation}')


def space_row(space, text: SpaceRowText, retry_url) -> SafeString:
    """One Registry space row: name, type, bound workspaces (hover list, soonest end, robots'
    propagation), images, created, and the ⋮ menu. ``space`` carries what
    ``registries.views._prepare_rows`` computed (``urls``, ``bound``, ``propagation``)."""
    pk = space.pk
    urls = {name: esc(url) for name, url in space.urls.items()}
    name = esc(space.name)
    missing = ""
    if space.missing:
        missing = f' <span class="badge warn" title="{text.missing_title}">{text.missing}</span>'
    if space.is_public:
        visibility = (f'<input type="hidden" name="visibility" value="private">'
                      f'<button type="submit">{text.make_private}</button>')
    else:
        visibility = (f'<input type="hidden" name="visibility" value="public">'
                      f'<button type="submit">{text.make_public}</button>')
    delete = ""
    if not space.repository_count:
        delete = (f'\n      <li><a href="{urls["delete"]}" hx-get="{urls["delete"]}" hx-target="#modal-body"'
                  f' hx-swap="innerHTML">{text.delete}</a></li>')
    created = _when(space.upstream_created) if space.upstream_created else ""
    return mark_safe(  # noqa: S308 (every value is escaped above or here)
        f'<tr id="space-{pk}" hx-get="{urls["row"]}"\n'
        f'    hx-trigger="space-changed-{pk} from:body" hx-swap="outerHTML">\n'
        f'  <td>{name}{missing}</td>\n  <td>{esc(space.get_visibility_display())}</td>\n'
        f'  <td class="workspace-cell">\n{_workspace_cell(space, text, retry_url)}\n  </td>\n'
        f'  <td>{space.repository_count}</td>\n  <td>{created}</td>\n'
        f'  <td>\n    <details class="menu">\n'
        f'      <summary aria-label="{esc(text.actions_for % {"name": space.name})}">⋮</summary>\n'
        f'      <ul class="menu-items">\n'
        f'      <li><a href="{urls["bindings"]}" hx-get="{urls["bindings"]}" hx-target="#modal-body"'
        f' hx-swap="innerHTML">{text.bind}</a></li>\n'
        f'      <li><form method="post" action="{urls["visibility"]}" hx-post="{urls["visibility"]}"'
        f' hx-swap="none" hx-disabled-elt="find button[type=submit]">{text.csrf_input}\n'
        f'        {visibility}\n      </form></li>{delete}\n'
        f'      </ul>\n    </details>\n  </td>\n</tr>')


class TagRowText:
    """A tag row's fixed texts, translated and escaped once for a page's rows."""

    def __init__(self, *, scanning: bool, may_push: bool):
        self.scanning = scanning
        self.may_push = may_push
        self.copied = esc(_("Copied"))
        self.copy = esc(_("Copy"))
        self.show_scan = esc(_("Show scan"))
        self.not_supported = esc(_("Not supported"))
        self.layers = esc(_("Layers"))
        self.delete_tag = esc(_("Delete tag"))
        self.delete_image = esc(_("Delete image"))
        self.copy_for = _("Copy the pull command for %(tag)s")
        # The ``truncatechars`` filter's ending, Django's own text ("…", in Chinese "..."): asked
        # once here, not once per row.
        self.ellipsis = add_truncation_text("")


def _truncated(value: str, length: int, text: TagRowText) -> str:
    """``value|truncatechars:length`` for text without combining characters (digests)."""
    if len(value) <= length:
        return value
    return value[:max(length - len(text.ellipsis), 0)] + text.ellipsis


def tag_cells(tag, text: TagRowText) -> str:
    """Digest, size, push time and platforms, escaped (the markup of images/_tag_cells.html,
    which the picker's shorter tag list still includes)."""
    size = esc(filesizeformat(tag.size)) if tag.size is not None else "—"
    pushed = "—"
    if tag.pushed:
        local = template_localtime(tag.pushed)
        # The date filter's "c" is isoformat().
        pushed = f'<time datetime="{local.isoformat()}">{local:%Y-%m-%d %H:%M}</time>'
    return (f'<td class="mono" title="{esc(tag.digest)}">{esc(_truncated(tag.digest, 19, text))}</td>\n'
            f'<td>{size}</td>\n<td>{pushed}</td>\n<td>{esc(", ".join(tag.platforms)) or "—"}</td>')


def tag_row(tag, text: TagRowText) -> SafeString:
    """One row of a repository's tags, and the row below it where layers or a scan open."""
    pk = tag.pk
    if text.scanning:
        url = esc(tag.scan_url)
        scan = (f'<a class="button small" href="{url}" hx-get="{url}" hx-target="#detail-{pk}">'
                f'{text.show_scan}</a>')
    else:
        scan = f'<span class="muted">{text.not_supported}</span>'
    delete = ""
    if text.may_push:
        delete = (f'\n    <a class="button small danger" href="{esc(tag.delete_url)}">{text.delete_tag}</a>'
                  f'\n    <a class="button small danger" href="{esc(tag.delete_image_url)}">'
                  f'{text.delete_image}</a>')
    layers = esc(tag.layers_url)
    return mark_safe(  # noqa: S308 (every value is escaped above or here)
        f'<tr>\n  <td>{esc(tag.name)}</td>\n  {tag_cells(tag, text)}\n'
        f'  <td class="pull"><code id="pull-{pk}">docker pull {esc(tag.reference)}</code>\n'
        f'    <button type="button" class="button small" data-copy="#pull-{pk}" data-copied="{text.copied}"\n'
        f'            aria-label="{esc(text.copy_for % {"tag": tag.name})}">{text.copy}</button></td>\n'
        f'  <td>{scan}</td>\n  <td class="actions">\n'
        f'    <a class="button small" href="{layers}" hx-get="{layers}" hx-target="#detail-{pk}">'
        f'{text.layers}</a>{delete}\n  </td>\n</tr>\n'
        f'<tr class="detail-row"><td colspan="8"><div id="detail-{pk}" aria-live="polite"></div></td></tr>')

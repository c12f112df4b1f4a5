"""What the repository page reads from a registry on demand: layers (cached) and scans.

Nothing here writes to the database; registry calls run within the request's deadline.
Descriptions come from the registry (Harbor's repository description, stored at sync) and are
rendered as Markdown with raw HTML disabled, so nothing a registry says reaches a page as HTML.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from markdown_it import MarkdownIt

from registries import outbound
from registries.clients import PlatformLayers, RegistryError, ScanOverview
from registries.kinds import client_for
from registries.models import Registry, Repository

# "js-default": CommonMark with raw HTML off and javascript:/vbscript:/data: links refused.
_markdown = MarkdownIt("js-default", {"linkify": False, "typographer": False})
# Descriptions longer than this are cut before rendering: a page is not a document store.
MAX_DESCRIPTION = 20_000


def render_description(text: str) -> SafeString:
    """A registry's Markdown description as safe HTML (no raw HTML, no script links)."""
    if not text.strip():
        return mark_safe("")
    return mark_safe(_markdown.render(text[:MAX_DESCRIPTION]))  # noqa: S308 (html disabled)


SEVERITY_LABELS = {
    "Critical": gettext_lazy("Critical"),
    "High": gettext_lazy("High"),
    "Medium": gettext_lazy("Medium"),
    "Low": gettext_lazy("Low"),
    "Unknown": gettext_lazy("Unknown"),
}


def severity_rows(overview: ScanOverview | None) -> list[tuple[str, str, int]]:
    """(css key, translated label, count) per severity, most severe first."""
    if overview is None:
        return []
    return [
        (severity.lower(), SEVERITY_LABELS.get(severity, severity), count)
        for severity, count in overview.counts
    ]


def supports_scanning(registry: Registry) -> bool:
    return registry.kind_plugin.scanning and not registry.is_demo


class DetailError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _layers_key(registry: Registry, repository: str, digest: str) -> str:
    # Digests are immutable: what a registry once said about one stays true. Keyed per
    # registry and repository too, so one registry can never answer for another.
    return f"wharf:layers:{registry.pk}:{repository}:{digest}"


def layers(repository: Repository, digest: str, user=None) -> tuple[PlatformLayers, ...]:
    """The layers of ``digest`` in ``repository``, per platform; cached by digest."""
    registry = repository.space.registry
    key = _layers_key(registry, repository.name, digest)
    found = cache.get(key)
    if found is not None:
        return found
    if registry.is_demo:
        raise DetailError(_("This is a demo registry: Wharf never contacts it."))
    try:
        with client_for(registry.kind, registry.connection()) as client:
            found = client.image_layers(repository.name, digest)
    except RegistryError as error:
        outbound.log_failure(registry, "Reading layers", error)
        raise DetailError(outbound.shown_message(registry, error, user)) from None
    cache.set(key, found, settings.WHARF_LAYER_CACHE_SECONDS)
    return found


def scan_overview(repository: Repository, digest: str, user=None) -> ScanOverview | None:
    """Harbor's scan overview for ``digest``; None where the registry does not scan."""
    registry = repository.space.registry
    if not supports_scanning(registry):
        return None
    try:
        with client_for(registry.kind, registry.connection()) as client:
            return client.scan_overview(repository.name, digest)
    except RegistryError as error:
        outbound.log_failure(registry, "Reading a scan overview", error)
        raise DetailError(outbound.shown_message(registry, error, user)) from None

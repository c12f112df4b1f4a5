"""The registry kinds Wharf integrates: one plug-in per kind, one line each in KINDS.

A kind lives in its own folder, ``registries/kinds/<name>/``: ``kind.py`` (a RegistryKind
saying what the kind can do), ``client.py`` (plain httpx, no Django) and ``tests/``. Everything
outside these folders asks the kind (``registry.kind_plugin`` or the helpers below) and never
compares a kind's name (registries/kinds/tests/test_no_kind_branches.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.functional import Promise

from registries.clients.base import Connection, RegistryClient, Unsupported
from registries.kinds.artifactory.kind import Artifactory
from registries.kinds.base import ROBOT_ACCOUNTS, TOKEN_SERVICE, RegistryKind
from registries.kinds.distribution.kind import Distribution
from registries.kinds.harbor.kind import Harbor

if TYPE_CHECKING:
    from registries.models import Registry

# THE table. Its order is the order of Registry.kind's choices (a new line needs a migration:
# makemigrations writes it).
KINDS: dict[str, RegistryKind] = {
    kind.name: kind
    for kind in (
        Harbor(),
        Distribution(),
        Artifactory(),
    )
}


class UnknownKind(RegistryKind):
    """A kind no plug-in answers for (a form's candidate before its kind is chosen, or a row
    written by a newer Wharf): it can do nothing, and has no client."""

    def __init__(self, name: str | None):
        self.unknown_name = name

    def client(self, connection: Connection) -> RegistryClient:
        raise Unsupported(f"Unknown registry kind {self.unknown_name!r}.")


def kind_of(registry_or_name: Registry | str | None) -> RegistryKind:
    """The plug-in of a Registry, or of a kind's stored name."""
    name = registry_or_name if isinstance(registry_or_name, str | None) else registry_or_name.kind
    return KINDS.get(name or "") or UnknownKind(name)


def client_for(kind: str, connection: Connection) -> RegistryClient:
    """A client for a registry of ``kind`` (its stored name) reached through ``connection``."""
    return kind_of(kind).client(connection)


def choices() -> list[tuple[str, str | Promise]]:
    return [(kind.name, kind.label) for kind in KINDS.values()]


def supporting(capability: str) -> list[str]:
    """The names of the kinds that have ``capability`` (a RegistryKind attribute), for database
    filters: ``Registry.objects.filter(kind__in=kinds.supporting("scanning"))``."""
    return [kind.name for kind in KINDS.values() if getattr(kind, capability)]


__all__ = [
    "KINDS",
    "ROBOT_ACCOUNTS",
    "TOKEN_SERVICE",
    "RegistryKind",
    "UnknownKind",
    "choices",
    "client_for",
    "kind_of",
    "supporting",
]

"""What a registry kind can do, said once per kind (registries/kinds/<name>/kind.py).

Sync, services, robots, pull secrets, the pages and the API ask these attributes instead of
comparing ``registry.kind`` to a name; ``registries/kinds/tests/test_no_kind_branches.py``
keeps it that way. The defaults describe the least a kind must offer: a client that lists
spaces, repositories and tags; everything else is switched on by the kind that has it.
No model imports here: the models ask the kinds, not the other way round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from registries.clients.base import Connection, RegistryClient

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from registries.models import Registry

# How a workspace's pull credential at a registry comes about.
ROBOT_ACCOUNTS = "robot_accounts"  # the registry's own accounts, kept by registries/robots.py
TOKEN_SERVICE = "token_service"  # minted and checked by Wharf's token service (registries/tokens/)


class RegistryKind:
    # The value stored in Registry.kind (and its choice label); set once, never changed.
    name: ClassVar[str] = ""
    label: ClassVar[str | Promise] = ""
    client_class: ClassVar[type[RegistryClient]] = RegistryClient

    # Spaces ---------------------------------------------------------------------------------
    # Wharf offers "Create registry space" at all: made upstream (creates_spaces_upstream) or
    # only recorded in Wharf. A kind whose spaces are made by the registry's own administrators
    # (Artifactory's repositories) says no, and the service refuses.
    creates_spaces: ClassVar[bool] = False
    # Creating a space makes one upstream (a Harbor project); otherwise Wharf only records the
    # name and the space fills when something is pushed under it.
    creates_spaces_upstream: ClassVar[bool] = False
    # Public/private is the registry's own setting, read at sync and written on a change;
    # otherwise it is Wharf's, kept across syncs and enforced only through the token service.
    owns_visibility_upstream: ClassVar[bool] = False
    # When Wharf owns visibility: spaces first seen at sync start private (shown only to bound
    # workspaces) rather than public. Token-service registries always start them private.
    spaces_start_private: ClassVar[bool] = False
    # The space of repository names without a slash, when the kind has one (Docker Registry's
    # "library"); None when every name carries its space.
    unprefixed_space: ClassVar[str | None] = None

    # Pull credentials -----------------------------------------------------------------------
    # How workspaces get pull credentials at a platform registry of this kind: ROBOT_ACCOUNTS
    # (accounts in the registry, one per workspace, kept by registries/robots.py), TOKEN_SERVICE
    # (Wharf's own, once the registry sends its clients to Wharf's token service; such a
    # registry gets its signing key when integrated) or None (accounts handed out outside Wharf).
    pull_credentials: ClassVar[str | None] = None

    # Images ---------------------------------------------------------------------------------
    scanning: ClassVar[bool] = False
    # The registry counts pulls per repository (shown on the repository page and in the API).
    pull_count: ClassVar[bool] = False
    # The registry has a web UI of its own at its URL, linked as "Go to native registry".
    native_ui: ClassVar[bool] = False

    def client(self, connection: Connection) -> RegistryClient:
        return self.client_class(connection)

    def image_host(self, url: str) -> str:
        """The host[:port] an image reference of a registry at ``url`` starts with."""
        return url.split("://", 1)[-1].rstrip("/")

    @property
    def robot_accounts(self) -> bool:
        return self.pull_credentials == ROBOT_ACCOUNTS

    @property
    def token_service(self) -> bool:
        return self.pull_credentials == TOKEN_SERVICE

    def notices(self, registry: Registry) -> dict[str, str]:
        """Translated notices the pages show for ``registry``, by place: ``registry`` (its
        detail page), ``spaces`` (its space list), ``space_create`` (the Create space dialog)."""
        return {}

    def __repr__(self) -> str:
        return f"<RegistryKind {self.name}>"

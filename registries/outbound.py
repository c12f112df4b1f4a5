"""Wharf's calls to registries, seen from the Django side.

* **Where**: a workspace registry's clients connect only to addresses the address rule allows
  (registries.addresses), checked on every connection, redirects and token servers included.
  Platform registries are integrated by Admins, who may connect internal registries: no rule.
* **How long**: an operation made while a person waits (a connection check, creating or
  changing a space) has one deadline, WHARF_REGISTRY_DEADLINE, for all its requests. Background
  work (sync, robot accounts) runs in tasks with only the per-call WHARF_REGISTRY_TIMEOUT.
* **What a failure may say**: see ``shown_message``.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.translation import gettext as _

from portal.permissions import is_admin
from registries import addresses
from registries.clients import AddressPolicy, Deadline, RegistryError

logger = logging.getLogger("wharf.registries")

WORKSPACE_SCOPE = "workspace"
# Failures a Workspace Admin can act on and that tell nothing about the network beyond the
# registry: the credentials, the account's rights, the address rule itself.
EXPLAINED_CODES = frozenset({"auth", "forbidden", "address"})


def request_deadline() -> Deadline:
    return Deadline.start(settings.WHARF_REGISTRY_DEADLINE)


def address_policy(scope: str) -> AddressPolicy | None:
    if scope == WORKSPACE_SCOPE:
        return addresses.policy(settings.WHARF_ALLOWED_REGISTRY_NETWORKS)
    return None


def connection_failure() -> str:
    return _("Could not connect to the registry.")


def shown_message(registry, error: RegistryError, user=None) -> str:
    """What a failure talking to ``registry`` may tell ``user`` (None: whoever reads the
    registry's status, i.e. its workspace's members).

    For a workspace registry, anything that went wrong on the way (refused, no route, timeout,
    TLS, an HTTP 404 or an answer that is not a registry's) reads the same to everyone but
    platform Admins: telling them apart would make the connection check a port scanner of
    whatever the registry's address reaches. The detail goes to the log.
    """
    if registry.scope != WORKSPACE_SCOPE or error.code in EXPLAINED_CODES:
        return error.message
    if user is not None and is_admin(user):
        return error.message
    return connection_failure()


def log_failure(registry, action: str, error: RegistryError) -> None:
    logger.warning(
        "%s of registry %s (%s scope) failed [%s]: %s",
        action,
        registry.name,
        registry.scope,
        error.code,
        error.message,
    )

"""The grant: which actions a principal gets on each resource it asks for, decided by the
access rule (registries/access.py) at this moment. Nothing about the grant is cached, so an
unbind takes effect on the very next token request.

Who gets what:

* pull on a space the access rule lets the principal pull: anonymous clients get the public
  spaces, a workspace pull credential (``ws-<workspace>``) its workspace's spaces, a user the
  spaces of every workspace they are a member of;
* pull and push on every repository, and ``registry:catalog:*``, for the platform Admins (they
  push images and sync it);
* for a login command's credential (``wl-...``, registries/login_commands.py, while it has
  neither expired nor been revoked): what its user would get, plus push on the spaces
  ``access.pushable_spaces`` gives the user;
* nothing for unknown resource types or actions, and never ``delete``.

While a registry's row does not say it uses the token service (being set up, or turned off),
only Admins get anything. The pullable spaces are asked with a compiled query (compiled.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import router

from registries import access
from registries.clients.base import space_of
from registries.models import Registry, RegistrySpace
from registries.tokens import compiled
from registries.tokens.principals import Principal
from registries.tokens.scopes import CATALOG, PULL, PUSH, Scope
from workspaces.models import Workspace

User = get_user_model()

# Requests naming more distinct spaces than this (rare) run the grant's query through the ORM.
MAX_TEMPLATED_NAMES = 8


def _expand(asked: tuple[str, ...], allowed: tuple[str, ...]) -> list[str]:
    """``asked`` ∩ ``allowed``, where ``*`` asks for everything (and grants only ``allowed``)."""
    if "*" in asked:
        return list(allowed)
    return [action for action in allowed if action in asked]


def _manages(principal: Principal, registry: Registry) -> bool:
    """Pushes to, pulls from and lists the whole registry: the platform Admins. Only platform
    registries use the token service; a workspace's own registry never gets here."""
    return registry.scope == Registry.Scope.PLATFORM and principal.is_admin


def _pullable_spaces(principal: Principal, registry: Registry, names: set[str]) -> set[str]:
    """Which of the spaces ``names`` of ``registry`` the access rule lets ``principal`` pull."""
    workspace, user = principal.workspace, principal.user

    def query(registry, workspace, user, names):
        return (
            access.spaces_pullable_at_registry(registry, workspace=workspace, user=user)
            .filter(name__in=names)
            .order_by()
            .values_list("name", flat=True)
        )

    names = sorted(names)
    kind = "user" if user is not None else "workspace" if workspace is not None else "anonymous"
    template = None
    if compiled.USE_TEMPLATES and len(names) <= MAX_TEMPLATED_NAMES:

        def build(placeholders):
            return query(
                Registry(pk=placeholders.number("registry")),
                Workspace(pk=placeholders.number("owner")) if kind == "workspace" else None,
                User(pk=placeholders.number("owner")) if kind == "user" else None,
                [placeholders.text(f"name{number}") for number in range(len(names))],
            )

        template = compiled.template(("pullable", kind, len(names)), build)
    if template is None:
        return set(query(registry, workspace, user, names))
    values = {"registry": registry.pk, **{f"name{number}": name for number, name in enumerate(names)}}
    if kind != "anonymous":
        values["owner"] = (user or workspace).pk
    return {row[0] for row in template.run(router.db_for_read(RegistrySpace), values)}


def _pushable_spaces(
    principal: Principal, registry: Registry, repositories: list[Scope], names: set[str]
) -> set[str]:
    """Which of the spaces ``names`` a login command's credential may push to, if any of
    ``repositories`` asks to push (nobody else pushes but the Admins)."""
    if principal.login is None or not any(
        PUSH in scope.actions or "*" in scope.actions for scope in repositories
    ):
        return set()
    return set(
        access.pushable_spaces(principal.user, registry)
        .filter(name__in=sorted(names))
        .values_list("name", flat=True)
    )


def _actions(scope: Scope, *, manager: bool, pullable: set[str], pushable: set[str]) -> list[str]:
    """The actions one requested resource gets: a repository by the spaces the principal may
    pull or push there, the catalog by managing the registry, anything else none."""
    if scope.type == "repository" and not scope.resource_class:
        allowed: tuple[str, ...] = ()
        if manager or space_of(scope.name) in pushable:
            allowed = (PULL, PUSH)
        elif space_of(scope.name) in pullable:
            allowed = (PULL,)
        return _expand(scope.actions, allowed)
    if (scope.type, scope.name) == CATALOG and not scope.resource_class and manager:
        return ["*"] if "*" in scope.actions else []
    return []


def grant(principal: Principal, registry: Registry, requested: list[Scope]) -> list[dict[str, Any]]:
    """The ``access`` claim: each requested resource with the actions allowed now, omitting
    those with none. A partial grant is not an error (the registry refuses what is missing).

    A registry whose row does not (yet) say it uses the token service grants only to whoever
    manages it: it may already send its clients here while an Admin turns the setting on, and
    the connection check that comes with that asks for a token as the Admin.
    """
    manager = _manages(principal, registry)
    if not registry.token_service and not manager:
        return []
    repositories = [scope for scope in requested if scope.type == "repository" and not scope.resource_class]
    pullable: set[str] = set()
    pushable: set[str] = set()
    if repositories and not manager:
        names = {space_of(scope.name) for scope in repositories}
        pullable = _pullable_spaces(principal, registry, names)
        pushable = _pushable_spaces(principal, registry, repositories, names)
    granted = []
    for scope in requested:
        actions = _actions(scope, manager=manager, pullable=pullable, pushable=pushable)
        if actions:
            granted.append({"type": scope.type, "name": scope.name, "actions": actions})
    return granted

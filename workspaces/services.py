"""Writes to workspaces, memberships, clusters and namespaces, each with its audit event.

registries builds on workspaces, so the two functions here that reach registries (robots of a
deleted workspace, rotation when a member leaves) import it where they use it.
"""

from typing import Literal

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.audit import Actor
from portal.errors import ServiceError
from workspaces.models import Cluster, Membership, Namespace, Workspace


@transaction.atomic
def create_workspace(actor: Actor, *, name: str, description: str = "") -> Workspace:
    workspace = Workspace.objects.create(name=name, description=description)
    audit.record(actor, "workspace.create", workspace, after={"name": name, "description": description})
    return workspace


@transaction.atomic
def update_workspace(workspace: Workspace, actor: Actor, *, description: str) -> Workspace:
    before = {"description": workspace.description}
    workspace.description = description
    workspace.save(update_fields=["description"])
    audit.record(actor, "workspace.update", workspace, before=before, after={"description": description})
    return workspace


def deletion_blockers(workspace: Workspace) -> dict[str, list[str]]:
    """What still depends on the workspace; it can be deleted only when all lists are empty."""
    return {
        "namespaces": [str(ns) for ns in workspace.namespaces.select_related("cluster")],
        "bindings": [
            str(binding.space) for binding in workspace.space_bindings.select_related("space__registry")
        ],
        "registries": list(workspace.registries.values_list("name", flat=True)),
    }


@transaction.atomic
def delete_workspace(workspace: Workspace, actor: Actor) -> None:
    from registries import robots

    Workspace.objects.select_for_update().filter(pk=workspace.pk).get()
    blockers = deletion_blockers(workspace)
    if any(blockers.values()):
        parts = []
        if blockers["namespaces"]:
            parts.append(_("namespaces %(names)s") % {"names": ", ".join(blockers["namespaces"])})
        if blockers["bindings"]:
            parts.append(_("bound registry spaces %(names)s") % {"names": ", ".join(blockers["bindings"])})
        if blockers["registries"]:
            parts.append(_("workspace registries %(names)s") % {"names": ", ".join(blockers["registries"])})
        raise ServiceError(
            _("Workspace %(name)s still has %(what)s. Unbind or remove them first.")
            % {"name": workspace.name, "what": "; ".join(parts)}
        )
    audit.record(
        actor,
        "workspace.delete",
        workspace,
        before={"name": workspace.name, "members": workspace.memberships.count()},
    )
    robots.workspace_deleting(workspace)
    workspace.delete()


@transaction.atomic
def add_member(workspace: Workspace, actor: Actor, *, user: User, role: str) -> Membership:
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ServiceError(
            _("%(user)s is already a member of this workspace.") % {"user": user.get_username()}, "username"
        )
    membership = Membership.objects.create(workspace=workspace, user=user, role=role)
    audit.record(actor, "membership.create", workspace, after={"user": user.get_username(), "role": role})
    return membership


def _refuse_losing_last_admin(membership: Membership) -> None:
    """A workspace keeps a Workspace Admin, so its members always have someone to ask."""
    if membership.role != Membership.Role.ADMIN:
        return
    admins = Membership.objects.select_for_update().filter(
        workspace=membership.workspace_id, role=Membership.Role.ADMIN
    )
    if len(admins) <= 1:
        raise ServiceError(
            _(
                "%(user)s is the last Workspace Admin of %(workspace)s; make someone else "
                "Workspace Admin first."
            )
            % {"user": membership.user.get_username(), "workspace": membership.workspace.name},
            "role",
        )


@transaction.atomic
def change_role(membership: Membership, actor: Actor, role: str) -> Membership:
    if membership.role == role:
        return membership
    _refuse_losing_last_admin(membership)
    before = {"user": membership.user.get_username(), "role": membership.role}
    membership.role = role
    membership.save(update_fields=["role"])
    audit.record(
        actor,
        "membership.update",
        membership.workspace,
        before=before,
        after={"user": membership.user.get_username(), "role": role},
    )
    return membership


@transaction.atomic
def remove_member(membership: Membership, actor: Actor | None) -> None:
    """Remove a member; with WHARF_ROTATE_ON_MEMBER_LEAVE (the default), the workspace's pull
    credentials rotate too: the workspace's secret is shared, and the member may have a copy."""
    _refuse_losing_last_admin(membership)
    workspace, username = membership.workspace, membership.user.get_username()
    audit.record(actor, "membership.delete", workspace, before={"user": username, "role": membership.role})
    membership.delete()
    _rotate_after_leaving(workspace, actor, username)


def _rotate_after_leaving(workspace: Workspace, actor: Actor | None, username: str) -> None:
    """Every way out of a workspace (page, API, admin, the identity provider) rotates alike."""
    from registries.services import rotate_pull_credentials

    if settings.WHARF_ROTATE_ON_MEMBER_LEAVE:
        rotate_pull_credentials(workspace, actor, reason=f"member {username} left the workspace")


@transaction.atomic
def create_cluster(actor: Actor, *, name: str, description: str = "") -> Cluster:
    cluster = Cluster.objects.create(name=name, description=description)
    audit.record(actor, "cluster.create", cluster, after={"name": name})
    return cluster


@transaction.atomic
def create_namespace(
    actor: Actor, *, cluster: Cluster, name: str, workspace: Workspace | None = None
) -> Namespace:
    if Namespace.objects.filter(cluster=cluster, name=name).exists():
        raise ServiceError(
            _("Cluster %(cluster)s already has a namespace %(name)s.")
            % {"cluster": cluster.name, "name": name},
            "name",
        )
    namespace = Namespace.objects.create(cluster=cluster, name=name, workspace=workspace)
    audit.record(
        actor, "namespace.create", namespace, after={"workspace": workspace.name if workspace else None}
    )
    return namespace


@transaction.atomic
def bind_namespace(namespace: Namespace, actor: Actor, workspace: Workspace | None) -> Namespace:
    """Bind to ``workspace``, or unbind with None. A namespace in another workspace is refused."""
    # of=("self",): PostgreSQL cannot lock the nullable side of the outer join to workspace.
    namespace = (
        Namespace.objects.select_for_update(of=("self",))
        .select_related("cluster", "workspace")
        .get(pk=namespace.pk)
    )
    current = namespace.workspace
    if current == workspace:
        return namespace
    if current is not None and workspace is not None:
        raise ServiceError(
            _("Namespace %(namespace)s already belongs to workspace %(workspace)s; unbind it first.")
            % {"namespace": namespace, "workspace": current.name},
            "workspace",
        )
    namespace.workspace = workspace
    namespace.save(update_fields=["workspace"])
    audit.record(
        actor,
        "namespace.bind" if workspace else "namespace.unbind",
        namespace,
        before={"workspace": current.name if current else None},
        after={"workspace": workspace.name if workspace else None},
    )
    return namespace


@transaction.atomic
def delete_namespace(namespace: Namespace, actor: Actor) -> None:
    namespace = (
        Namespace.objects.select_for_update(of=("self",))
        .select_related("cluster", "workspace")
        .get(pk=namespace.pk)
    )
    audit.record(
        actor,
        "namespace.delete",
        namespace,
        before={
            "cluster": namespace.cluster.name,
            "name": namespace.name,
            "workspace": namespace.workspace.name if namespace.workspace else None,
        },
    )
    namespace.delete()


# -- Memberships that follow the identity provider's groups (sso/) --------------------------------
# Each change is its own audited write, made at sign-in inside the sign-in's transaction. The
# provider is the authority for these memberships: removing the provider's group removes the
# role even from a last Workspace Admin (platform Admins can still manage the workspace), so a
# person who lost the group at the provider never keeps access in Wharf.


@transaction.atomic
def grant_membership_by_sign_in(workspace: Workspace, *, user: User, role: str, provider: str) -> Membership:
    membership = Membership.objects.create(
        workspace=workspace, user=user, role=role, source=Membership.Source.PROVIDER
    )
    audit.record(
        None,
        "membership.sign_in_grant",
        workspace,
        after={"user": user.get_username(), "role": role, "by": provider},
    )
    return membership


@transaction.atomic
def change_membership_by_sign_in(membership: Membership, *, role: str, provider: str) -> Membership:
    if membership.source != Membership.Source.PROVIDER:
        raise ValueError("only memberships made by sign-in follow the provider")
    before = {"user": membership.user.get_username(), "role": membership.role}
    membership.role = role
    membership.save(update_fields=["role"])
    audit.record(
        None,
        "membership.sign_in_change",
        membership.workspace,
        before=before,
        after={"user": membership.user.get_username(), "role": role, "by": provider},
    )
    return membership


@transaction.atomic
def revoke_membership_by_sign_in(membership: Membership, *, provider: str) -> None:
    if membership.source != Membership.Source.PROVIDER:
        raise ValueError("only memberships made by sign-in follow the provider")
    workspace, username = membership.workspace, membership.user.get_username()
    audit.record(
        None,
        "membership.sign_in_revoke",
        workspace,
        before={"user": username, "role": membership.role, "by": provider},
    )
    membership.delete()
    _rotate_after_leaving(workspace, None, username)


# What a sign-in changes: ("grant", workspace, role), ("change", membership, role) or
# ("revoke", membership, None).
SignInChange = (
    tuple[Literal["grant"], Workspace, str]
    | tuple[Literal["change"], Membership, str]
    | tuple[Literal["revoke"], Membership, None]
)


def _sign_in_membership_changes(
    user: User, roles: dict[str, str], *, lock: bool
) -> tuple[list[SignInChange], list[str]]:
    """What it takes to make the provider-made memberships equal ``roles``: (changes, unknown
    workspace names). A change is ("grant", workspace, role), ("change", membership, role) or
    ("revoke", membership, None)."""
    workspaces = {workspace.name: workspace for workspace in Workspace.objects.filter(name__in=roles)}
    wanted = {workspace.pk: (workspace, roles[name]) for name, workspace in workspaces.items()}
    memberships = Membership.objects.select_related("workspace", "user").filter(user=user)
    if lock:
        memberships = memberships.select_for_update(of=("self",))
    current = {membership.workspace_id: membership for membership in memberships}
    changes: list[SignInChange] = []
    for workspace_id, membership in current.items():
        if membership.source != Membership.Source.PROVIDER:
            continue
        if workspace_id not in wanted:
            changes.append(("revoke", membership, None))
        elif membership.role != wanted[workspace_id][1]:
            changes.append(("change", membership, wanted[workspace_id][1]))
    for workspace_id, (workspace, role) in wanted.items():
        if workspace_id not in current:
            changes.append(("grant", workspace, role))
    return changes, sorted(set(roles) - set(workspaces))


def memberships_follow_sign_in(user: User, roles: dict[str, str]) -> bool:
    """True when a sign-in with ``roles`` would change nothing (read only, takes no lock)."""
    return not _sign_in_membership_changes(user, roles, lock=False)[0]


@transaction.atomic
def sync_memberships_by_sign_in(user: User, roles: dict[str, str], *, provider: str) -> list[str]:
    """Make the user's provider-made memberships equal ``roles`` ({workspace name: role}).

    Memberships made in Wharf stay as they are, also when the provider names their workspace.
    Returns the workspace names the provider named that do not exist in Wharf.
    """
    changes, unknown = _sign_in_membership_changes(user, roles, lock=True)
    for change in changes:
        match change:
            case ("grant", workspace, role):
                grant_membership_by_sign_in(workspace, user=user, role=role, provider=provider)
            case ("change", membership, role):
                change_membership_by_sign_in(membership, role=role, provider=provider)
            case ("revoke", membership, _):
                revoke_membership_by_sign_in(membership, provider=provider)
    return unknown

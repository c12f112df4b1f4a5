"""The one place that answers "may this user do X on Y?".

Platform power comes from the `Admin` group (or superuser); workspace power from Membership.
Views and the API call these functions; nothing else checks roles.
"""

# Role names and the Admin check live in portal.roles, which workspaces.models can import.
from typing import TYPE_CHECKING

from portal.roles import ADMIN_GROUP, ROLE_ADMIN, ROLE_EDITOR, ROLE_VIEWER, Person, is_admin  # noqa: F401

if TYPE_CHECKING:
    from workspaces.models import Workspace


def workspace_roles(user: Person | None) -> dict[int, str]:
    """{workspace_id: role} for the user's memberships, read once per request."""
    if user is None or not user.is_authenticated:
        return {}
    cached = getattr(user, "_wharf_workspace_roles", None)
    if cached is None:
        from workspaces.models import Membership

        cached = dict(Membership.objects.filter(user=user).values_list("workspace_id", "role"))
        # Cached on the user object, which lives as long as the request.
        user._wharf_workspace_roles = cached  # type: ignore[attr-defined]
    return cached


def role_in(user: Person | None, workspace: "Workspace | int | None") -> str | None:
    """The user's role in ``workspace`` (a Workspace, or its id)."""
    if workspace is None:
        return None
    return workspace_roles(user).get(workspace if isinstance(workspace, int) else workspace.pk)


# Platform-wide actions: Admin only.
PLATFORM_ACTIONS = {
    "manage_registries",
    "bind_spaces",
    "manage_clusters",
    "bind_namespaces",
    "manage_workspaces",
    "view_audit_log",
}

# Workspace actions and the roles that may take them.
WORKSPACE_ACTIONS = {
    "view_workspace": {ROLE_ADMIN, ROLE_EDITOR, ROLE_VIEWER},
    "browse_images": {ROLE_ADMIN, ROLE_EDITOR, ROLE_VIEWER},
    "use_images": {ROLE_ADMIN, ROLE_EDITOR},
    # Pushing, scanning and deleting images, in the spaces registries.access.can_push allows.
    "push_images": {ROLE_ADMIN, ROLE_EDITOR},
    # Ask an Admin to bind a private registry space to the workspace (access_requests).
    "request_spaces": {ROLE_ADMIN, ROLE_EDITOR},
    "fetch_pull_secret": {ROLE_ADMIN, ROLE_EDITOR},
    "manage_members": {ROLE_ADMIN},
    "manage_workspace_registries": {ROLE_ADMIN},
    "rotate_pull_credentials": {ROLE_ADMIN},
}

# What a platform Admin may do inside a workspace they are not a member of. Using private
# images is deliberately absent: an Admin manages bindings but does not browse tenants' images.
ADMIN_IN_WORKSPACE = {"view_workspace", "manage_members", "fetch_pull_secret", "rotate_pull_credentials"}


def can(user: Person | None, action: str, workspace: "Workspace | int | None" = None) -> bool:
    if action in PLATFORM_ACTIONS:
        return is_admin(user)
    if action not in WORKSPACE_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if workspace is None:
        # "Is there any workspace where the user may do this?" (navigation, list pages)
        if is_admin(user) and action in ADMIN_IN_WORKSPACE:
            return True
        return any(role in WORKSPACE_ACTIONS[action] for role in workspace_roles(user).values())
    if role_in(user, workspace) in WORKSPACE_ACTIONS[action]:
        return True
    return is_admin(user) and action in ADMIN_IN_WORKSPACE

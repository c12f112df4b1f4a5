"""The one answer to "may this user reach this namespace (or workspace) for this action", for
the pages and the API alike.

Not theirs (outside the scope they see) or no such namespace: 404, so nobody learns which
namespaces exist. Theirs but their role does not allow the action: 403, naming what is needed.
"""

from django.shortcuts import get_object_or_404

from portal.decorators import refusal
from portal.permissions import PLATFORM_ACTIONS, can, is_admin
from workspaces.models import Namespace, Workspace

# What a platform Admin may do with a namespace bound to no workspace: its public images only.
UNBOUND_ACTIONS = {"browse_images", "use_images"}


def may_act_on(user, action: str, namespace: Namespace) -> bool:
    if action in PLATFORM_ACTIONS:
        return can(user, action)
    if namespace.workspace_id is None:
        return is_admin(user) and action in UNBOUND_ACTIONS
    return can(user, action, namespace.workspace_id)


def namespace_for(
    user, pk, action: str, *, scope=None, refused: Exception | None = None, unbound: Exception | None = None
) -> Namespace:
    """The namespace ``pk`` for ``user`` to take ``action`` on, or the 404 or 403 exception.

    ``scope`` is the namespaces the user may know of (default: those of their workspaces, every
    one for an Admin). ``refused`` is raised when the role is too low (default: the page's 403
    naming the role); an API passes its own with its message. ``unbound``, when given, is raised
    for a namespace bound to no workspace (an action that needs a workspace has nothing to
    refuse there, so it is "not found" rather than forbidden).
    """
    scope = Namespace.objects.visible_to(user) if scope is None else scope
    namespace = get_object_or_404(scope.select_related("cluster", "workspace"), pk=pk)
    if unbound is not None and namespace.workspace_id is None:
        raise unbound
    if not may_act_on(user, action, namespace):
        raise refused if refused is not None else refusal(action)
    return namespace


def workspace_for(user, pk, action: str | None = None, *, refused: Exception | None = None) -> Workspace:
    """The workspace ``pk`` for ``user`` to take ``action`` in (None: only to see it), or the
    404 (not theirs, or no such workspace) or the 403 (``refused``, by default the page's
    refusal naming the role) exception."""
    workspace = get_object_or_404(Workspace.objects.visible_to(user), pk=pk)
    if action is not None and not can(user, action, workspace):
        raise refused if refused is not None else refusal(action)
    return workspace

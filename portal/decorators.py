from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from portal.permissions import PLATFORM_ACTIONS, ROLE_ADMIN, ROLE_EDITOR, WORKSPACE_ACTIONS, can


class RoleRequired(PermissionDenied):
    """Refused for want of a role; the 403 page names the role the page needs."""

    def __init__(self, role):
        super().__init__(role)
        self.role = role


def permission_required(action: str):
    """Platform actions only (Admin); workspace actions are checked against their workspace."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not can(request.user, action):
                raise refusal(action)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = permission_required("manage_registries")


# The roles named on the 403 page, by the set of workspace roles an action allows.
_WORKSPACE_ROLE_NAMES = {
    frozenset({ROLE_ADMIN}): _("Workspace Admin"),
    frozenset({ROLE_ADMIN, ROLE_EDITOR}): _("Workspace Admin or Workspace Editor"),
}


def refusal(action: str) -> PermissionDenied:
    """The 403 for a user who may not take ``action``, naming the role it needs when one does."""
    if action in PLATFORM_ACTIONS:
        return RoleRequired(_("Admin"))
    role = _WORKSPACE_ROLE_NAMES.get(frozenset(WORKSPACE_ACTIONS.get(action, ())))
    return RoleRequired(role) if role else PermissionDenied()

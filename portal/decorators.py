from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from portal.permissions import can


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
                # Platform actions are the Admin role's only (portal.permissions).
                raise RoleRequired(_("Admin"))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = permission_required("manage_registries")

"""DRF permission classes that defer to portal.permissions, where roles are decided."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from portal.permissions import PLATFORM_ACTIONS, can


class PlatformAction(BasePermission):
    action: str = ""
    message = _("Only a platform Admin may do this.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated) and can(user, self.action)


def allowed_to(action: str) -> type[PlatformAction]:
    """The permission class for one platform action, e.g. ``allowed_to("manage_registries")``."""
    if action not in PLATFORM_ACTIONS:
        raise ValueError(f"{action!r} is not a platform action")
    return type(f"AllowedTo_{action}", (PlatformAction,), {"action": action})

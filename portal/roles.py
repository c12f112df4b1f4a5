"""Who is who: the platform Admin group and the workspace role names.

Imports no app, so that models (workspaces.models) and the permission checks
(portal.permissions) can both use it without importing each other.
"""

from django.contrib.auth.models import AnonymousUser, User

# Whom a permission check asks about, or for whom a service acts: ``request.user``, signed in
# or anonymous. Checks also take None (no request: tasks, the token service's anonymous pull).
Person = User | AnonymousUser

ADMIN_GROUP = "Admin"

# Workspace roles, strongest first.
ROLE_ADMIN = "admin"
ROLE_EDITOR = "editor"
ROLE_VIEWER = "viewer"


def is_admin(user) -> bool:
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_wharf_is_admin", None)
    if cached is None:
        # The membership table alone: through ``user.groups`` (a related manager built per call)
        # the check cost twice the CPU, on every page (bench/space_row_profile.py).
        cached = User.groups.through.objects.filter(user_id=user.pk, group__name=ADMIN_GROUP).exists()
        user._wharf_is_admin = cached
    return cached

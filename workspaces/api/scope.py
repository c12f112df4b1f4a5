"""The API's face of workspaces/scope.py: views under /workspaces/<workspace_pk>/ get their
workspace, 404 outside the user's scope and 403 for a role too low, the same way in every app."""

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from workspaces.models import Workspace
from workspaces.scope import workspace_for


class WorkspaceRole(BasePermission):
    """Reads need a role in the workspace (or platform Admin); writes need the view's action.

    The workspace comes from the URL and must be in the user's scope, or the answer is 404.
    """

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        needed = "view_workspace" if request.method in SAFE_METHODS else view.manage_action
        view._workspace = workspace_for(
            user, view.kwargs["workspace_pk"], needed, refused=PermissionDenied(view.denied_message)
        )
        return True


class InWorkspace:
    """A view under /workspaces/<workspace_pk>/."""

    permission_classes = [WorkspaceRole]
    manage_action = ""
    denied_message = ""

    def get_workspace(self) -> Workspace:
        if not hasattr(self, "_workspace"):
            self._workspace = workspace_for(self.request.user, self.kwargs["workspace_pk"])
        return self._workspace

    def fake(self) -> bool:
        return getattr(self, "swagger_fake_view", False)

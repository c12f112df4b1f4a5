"""Integrated Registry (Workspace) and a workspace's pull credentials in the REST API, under
/workspaces/<workspace_pk>/: registries' objects in a workspace's scope (workspaces/api/scope.py)."""

from django.conf import settings
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.api.serializers import MessageSerializer
from registries.api.filters import RegistryFilter
from registries.api.serializers import (
    PullCredentialSerializer,
    RotationResultSerializer,
    WorkspaceRegistrySerializer,
)
from registries.api.views import BAD_REQUEST, RegistryWritesMixin
from registries.models import PullCredential, Registry
from registries.services import rotate_pull_credentials
from workspaces.api.scope import InWorkspace


class WorkspaceRegistryViewSet(InWorkspace, RegistryWritesMixin, viewsets.ModelViewSet):
    """Integrated Registry (Workspace): registries one workspace integrates for itself.

    Its members (and platform Admins) read them; only its Workspace Admins change them. Same
    connection check as the Admin's registries, and internal addresses (loopback, private,
    link-local, metadata and other non-global ranges, on every hop) are refused unless
    WHARF_ALLOWED_REGISTRY_NETWORKS allows them.
    """

    serializer_class = WorkspaceRegistrySerializer
    filterset_class = RegistryFilter
    lookup_value_converter = "int"
    manage_action = "manage_workspace_registries"
    denied_message = gettext_lazy("Only a Workspace Admin of this workspace may change its registries.")

    def get_queryset(self):
        if self.fake():
            return Registry.objects.none()
        return Registry.objects.of_workspace(self.get_workspace()).order_by("name")

    def new_registry_fields(self) -> dict:
        return {"scope": Registry.Scope.WORKSPACE, "workspace": self.get_workspace()}

    @extend_schema(
        operation_id="workspaces_registries_sync",
        request=None,
        responses={202: MessageSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["post"])
    def sync(self, request, workspace_pk=None, pk=None):
        """Sync now: queue a sync of the registry's spaces, repositories and tags."""
        return self.start_sync()


class PullCredentialViewSet(InWorkspace, mixins.ListModelMixin, viewsets.GenericViewSet):
    """A workspace's pull credentials (usernames and rotation state, never secrets): its members
    (and platform Admins) read them; its Workspace Admins and platform Admins rotate them."""

    serializer_class = PullCredentialSerializer
    manage_action = "rotate_pull_credentials"
    denied_message = gettext_lazy("Only a Workspace Admin of this workspace may rotate its pull credentials.")

    def get_queryset(self):
        if self.fake():
            return PullCredential.objects.none()
        return (
            PullCredential.objects.filter(workspace=self.get_workspace())
            .select_related("registry")
            .order_by("registry__name")
        )

    @extend_schema(
        operation_id="workspaces_pull_credentials_rotate",
        request=None,
        responses={200: RotationResultSerializer},
    )
    @action(detail=False, methods=["post"])
    def rotate(self, request, workspace_pk=None):
        """Give every pull credential of the workspace a new secret. The old secrets keep working
        for `overlap_seconds`: fetch the namespaces' pull secrets again before then. Audited."""
        rotated = rotate_pull_credentials(
            self.get_workspace(), request.user, reason="requested through the API"
        )
        return Response(
            RotationResultSerializer(
                {
                    "rotated": rotated,
                    "overlap_seconds": settings.WHARF_CREDENTIAL_OVERLAP,
                    "credentials": self.get_queryset(),
                }
            ).data
        )

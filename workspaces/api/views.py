"""The REST API for workspaces, their members and registries, clusters and namespaces.

Same rules as the pages (workspaces/views.py, registries/workspace_views.py): roles come from
portal.permissions.can(), anything outside the user's scope answers 404 before any role check,
a role failure is 403, and every write goes through a service that records its audit event.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from portal.api.errors import service_errors
from portal.api.permissions import PlatformAction, allowed_to
from portal.api.serializers import MessageSerializer
from registries.api.filters import RegistryFilter
from registries.api.serializers import (
    PullCredentialSerializer,
    RotationResultSerializer,
    WorkspaceRegistrySerializer,
)
from registries.api.views import RegistryWritesMixin
from registries.models import PullCredential, Registry
from registries.services import rotate_pull_credentials
from workspaces import services
from workspaces.api.filters import ClusterFilter, MembershipFilter, NamespaceFilter, WorkspaceFilter
from workspaces.api.serializers import (
    ClusterSerializer,
    MemberCreateSerializer,
    MemberRoleSerializer,
    MembershipSerializer,
    NamespaceBindSerializer,
    NamespaceCreateSerializer,
    NamespaceSerializer,
    WorkspaceSerializer,
)
from workspaces.models import Cluster, Membership, Namespace, Workspace
from workspaces.scope import namespace_for, workspace_for

BAD_REQUEST = OpenApiResponse(description="Field errors: {field: [message]} or non_field_errors.")


class WorkspaceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                       viewsets.GenericViewSet):
    """Workspaces: an Admin sees and creates all of them, everyone else sees their own."""

    serializer_class = WorkspaceSerializer
    filterset_class = WorkspaceFilter
    lookup_value_converter = "int"

    def get_permissions(self):
        if self.action == "create":
            return [allowed_to("manage_workspaces")()]
        return [IsAuthenticated()]

    def get_queryset(self):
        user = self.request.user
        workspaces = Workspace.objects.order_by("name")
        if getattr(self, "swagger_fake_view", False):
            return workspaces
        # Someone else's workspace is outside this user's scope: it is not listed and answers 404.
        return workspaces.visible_to(user)

    def perform_create(self, serializer):
        serializer.instance = services.create_workspace(self.request.user, **serializer.validated_data)


# Inside one workspace: members and workspace registries -----------------------------------


class WorkspaceRole(BasePermission):
    """Reads need a role in the workspace (or platform Admin); writes need the view's action.

    The workspace comes from the URL and must be in the user's scope, or the answer is 404.
    """

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        needed = "view_workspace" if request.method in SAFE_METHODS else view.manage_action
        view._workspace = workspace_for(user, view.kwargs["workspace_pk"], needed,
                                        refused=PermissionDenied(view.denied_message))
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


@extend_schema_view(
    create=extend_schema(request=MemberCreateSerializer,
                         responses={201: MembershipSerializer, 400: BAD_REQUEST}),
    partial_update=extend_schema(request=MemberRoleSerializer,
                                 responses={200: MembershipSerializer, 400: BAD_REQUEST}),
)
class MemberViewSet(InWorkspace, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """A workspace's members and their roles: members read them, its Workspace Admins (and
    platform Admins) add members, change roles and remove members."""

    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter
    lookup_value_converter = "int"
    manage_action = "manage_members"
    denied_message = gettext_lazy("Only a Workspace Admin of this workspace may change its members.")

    def get_queryset(self):
        if self.fake():
            return Membership.objects.none()
        return (Membership.objects.filter(workspace=self.get_workspace())
                .select_related("user", "workspace").order_by("user__username"))

    def create(self, request, *args, **kwargs):
        """Add a member with a role."""
        serializer = MemberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            membership = services.add_member(self.get_workspace(), request.user,
                                             user=serializer.validated_data["username"],
                                             role=serializer.validated_data["role"])
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        """Change a member's role."""
        membership = self.get_object()
        serializer = MemberRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            membership = services.change_role(membership, request.user, serializer.validated_data["role"])
        return Response(MembershipSerializer(membership).data)

    def perform_destroy(self, instance):
        """Remove a member from the workspace (the user account stays)."""
        with service_errors():
            services.remove_member(instance, self.request.user)


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
        return Registry.objects.of_workspace(self.get_workspace()).with_space_count().order_by("name")

    def new_registry_fields(self) -> dict:
        return {"scope": Registry.Scope.WORKSPACE, "workspace": self.get_workspace()}

    @extend_schema(operation_id="workspaces_registries_sync", request=None,
                   responses={202: MessageSerializer, 400: BAD_REQUEST})
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
        return (PullCredential.objects.filter(workspace=self.get_workspace())
                .select_related("registry").order_by("registry__name"))

    @extend_schema(operation_id="workspaces_pull_credentials_rotate", request=None,
                   responses={200: RotationResultSerializer})
    @action(detail=False, methods=["post"])
    def rotate(self, request, workspace_pk=None):
        """Give every pull credential of the workspace a new secret. The old secrets keep working
        for `overlap_seconds`: fetch the namespaces' pull secrets again before then. Audited."""
        rotated = rotate_pull_credentials(self.get_workspace(), request.user,
                                          reason="requested through the API")
        return Response(RotationResultSerializer({
            "rotated": rotated, "overlap_seconds": settings.WHARF_CREDENTIAL_OVERLAP,
            "credentials": self.get_queryset()}).data)


# Clusters and namespaces ------------------------------------------------------------------


class ClusterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     viewsets.GenericViewSet):
    """Kubernetes clusters (Admin only): register and list them."""

    serializer_class = ClusterSerializer
    permission_classes = [allowed_to("manage_clusters")]
    filterset_class = ClusterFilter
    lookup_value_converter = "int"
    queryset = Cluster.objects.order_by("name")

    def perform_create(self, serializer):
        serializer.instance = services.create_cluster(self.request.user, **serializer.validated_data)


@extend_schema_view(
    create=extend_schema(request=NamespaceCreateSerializer,
                         responses={201: NamespaceSerializer, 400: BAD_REQUEST}),
    partial_update=extend_schema(
        summary="Bind or unbind a namespace",
        request=NamespaceBindSerializer,
        responses={200: NamespaceSerializer, 400: BAD_REQUEST}),
)
class NamespaceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Namespaces: an Admin sees all of them, registers them and binds each to one workspace;
    everyone else sees the namespaces of their workspaces."""

    serializer_class = NamespaceSerializer
    filterset_class = NamespaceFilter
    lookup_value_converter = "int"

    def get_permissions(self):
        if self.action == "create":
            return [allowed_to("manage_clusters")()]
        return [IsAuthenticated()]

    def get_queryset(self):
        namespaces = (Namespace.objects.select_related("cluster", "workspace")
                      .order_by("cluster__name", "name"))
        if getattr(self, "swagger_fake_view", False):
            return namespaces
        return namespaces.visible_to(self.request.user)

    def create(self, request, *args, **kwargs):
        """Register a namespace of a cluster, optionally bound to a workspace at once."""
        serializer = NamespaceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            namespace = services.create_namespace(request.user, **serializer.validated_data)
        return Response(NamespaceSerializer(namespace).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        """Bind the namespace to a workspace (`{"workspace": id}`) or unbind it (`null`).

        A namespace already in another workspace is refused: unbind it first.
        """
        namespace = namespace_for(request.user, kwargs["pk"], "bind_namespaces",
                                  refused=PermissionDenied(PlatformAction.message))
        serializer = NamespaceBindSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            namespace = services.bind_namespace(namespace, request.user,
                                                serializer.validated_data["workspace"])
        return Response(NamespaceSerializer(namespace).data)

"""The REST API for workspaces, their members and registries, clusters and namespaces.

Same rules as the pages (workspaces/views.py, registries/workspace_views.py): roles come from
portal.permissions.can(), anything outside the user's scope answers 404 before any role check,
a role failure is 403, and every write goes through a service that records its audit event.
"""

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from portal.api.errors import service_errors
from portal.api.permissions import PlatformAction, allowed_to
from workspaces import services
from workspaces.api.filters import ClusterFilter, MembershipFilter, NamespaceFilter, WorkspaceFilter
from workspaces.api.scope import InWorkspace
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
from workspaces.scope import namespace_for

BAD_REQUEST = OpenApiResponse(description="Field errors: {field: [message]} or non_field_errors.")


class WorkspaceViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
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


@extend_schema_view(
    create=extend_schema(
        request=MemberCreateSerializer, responses={201: MembershipSerializer, 400: BAD_REQUEST}
    ),
    partial_update=extend_schema(
        request=MemberRoleSerializer, responses={200: MembershipSerializer, 400: BAD_REQUEST}
    ),
)
class MemberViewSet(
    InWorkspace,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
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
        return (
            Membership.objects.filter(workspace=self.get_workspace())
            .select_related("user", "workspace")
            .order_by("user__username")
        )

    def create(self, request, *args, **kwargs):
        """Add a member with a role."""
        serializer = MemberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            membership = services.add_member(
                self.get_workspace(),
                request.user,
                user=serializer.validated_data["username"],
                role=serializer.validated_data["role"],
            )
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


# Clusters and namespaces ------------------------------------------------------------------


class ClusterViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Kubernetes clusters (Admin only): register and list them."""

    serializer_class = ClusterSerializer
    permission_classes = [allowed_to("manage_clusters")]
    filterset_class = ClusterFilter
    lookup_value_converter = "int"
    queryset = Cluster.objects.order_by("name")

    def perform_create(self, serializer):
        serializer.instance = services.create_cluster(self.request.user, **serializer.validated_data)


@extend_schema_view(
    create=extend_schema(
        request=NamespaceCreateSerializer, responses={201: NamespaceSerializer, 400: BAD_REQUEST}
    ),
    partial_update=extend_schema(
        summary="Bind or unbind a namespace",
        request=NamespaceBindSerializer,
        responses={200: NamespaceSerializer, 400: BAD_REQUEST},
    ),
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
        namespaces = Namespace.objects.select_related("cluster", "workspace").order_by(
            "cluster__name", "name"
        )
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
        namespace = namespace_for(
            request.user, kwargs["pk"], "bind_namespaces", refused=PermissionDenied(PlatformAction.message)
        )
        serializer = NamespaceBindSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            namespace = services.bind_namespace(
                namespace, request.user, serializer.validated_data["workspace"]
            )
        return Response(NamespaceSerializer(namespace).data)

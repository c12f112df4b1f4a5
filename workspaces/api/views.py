from django.db import transaction
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated

from portal import audit
from portal.api.permissions import allowed_to
from workspaces.api.filters import WorkspaceFilter
from workspaces.api.serializers import WorkspaceSerializer
from workspaces.models import Workspace


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
        with transaction.atomic():
            workspace = serializer.save()
            audit.record(self.request.user, "workspace.create", workspace,
                         after={"name": workspace.name, "description": workspace.description})

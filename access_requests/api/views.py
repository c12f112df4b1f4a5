"""The REST API for access requests: the same scope and rules as the pages
(access_requests/views.py); every write goes through access_requests.services."""

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from access_requests import services
from access_requests.api.filters import AccessRequestFilter
from access_requests.api.serializers import (
    AccessRequestCreateSerializer,
    AccessRequestSerializer,
    ApproveSerializer,
    DeclineSerializer,
)
from access_requests.forms import requestable_workspaces
from access_requests.models import AccessRequest
from portal.api.errors import service_errors
from portal.api.permissions import allowed_to
from portal.permissions import can, is_admin
from registries.models import Registry, RegistrySpace

BAD_REQUEST = OpenApiResponse(description="Field errors: {field: [message]} or non_field_errors.")
FORBIDDEN = OpenApiResponse(description="Not allowed for your role.")
NOT_FOUND = OpenApiResponse(description="No such request in your scope.")


@extend_schema_view(
    list=extend_schema(responses={200: AccessRequestSerializer(many=True), 400: BAD_REQUEST, 403: FORBIDDEN}),
    retrieve=extend_schema(responses={200: AccessRequestSerializer, 403: FORBIDDEN, 404: NOT_FOUND}),
)
class AccessRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Requests for private registry spaces: Admins see all and decide; Workspace Admins and
    Editors ask for their workspaces and see those workspaces' requests; Viewers get 403."""

    serializer_class = AccessRequestSerializer
    filterset_class = AccessRequestFilter
    lookup_value_converter = "int"

    def get_permissions(self):
        if self.action in ("approve", "decline"):
            return [allowed_to("bind_spaces")()]
        return [IsAuthenticated()]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.action in ("list", "retrieve", "create") and not (
            is_admin(request.user) or can(request.user, "request_spaces")
        ):
            raise PermissionDenied(_("Only Admins, Workspace Admins and Editors see access requests."))

    def get_queryset(self):
        requests = AccessRequest.objects.select_related("workspace", "registry", "requested_by", "decided_by")
        if getattr(self, "swagger_fake_view", False):
            return requests
        requests = requests.visible_to(self.request.user)
        if is_admin(self.request.user):
            requests = requests.annotate(
                matching_space_id=Subquery(
                    RegistrySpace.objects.filter(
                        registry_id=OuterRef("registry_id"), name=OuterRef("space_name"), missing=False
                    ).values("pk")[:1]
                )
            )
        return requests.order_by("-created", "-id")

    @extend_schema(
        request=AccessRequestCreateSerializer,
        responses={
            201: AccessRequestSerializer,
            200: AccessRequestSerializer,
            400: BAD_REQUEST,
            403: FORBIDDEN,
        },
    )
    def create(self, request):
        """Ask for a registry space for your workspace. Recorded whether or not the space exists
        (the answer is the same either way); 200 when it merged into a pending request for the
        same space and workspace, 201 when new."""
        serializer = AccessRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace = requestable_workspaces(request.user).filter(pk=data["workspace"]).first()
        if workspace is None:
            raise ValidationError(
                {"workspace": [_("Not a workspace where you may request registry spaces.")]}
            )
        registry = Registry.objects.filter(pk=data["registry"], scope=Registry.Scope.PLATFORM).first()
        if registry is None:
            raise ValidationError({"registry": [_("No such Integrated Registry (Admin).")]})
        with service_errors():
            access_request, merged = services.request_access(
                request.user,
                workspace=workspace,
                registry=registry,
                space_name=data["space_name"],
                reason=data["reason"],
            )
        return Response(
            AccessRequestSerializer(self.get_queryset().get(pk=access_request.pk)).data,
            status=status.HTTP_200_OK if merged else status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=ApproveSerializer,
        responses={200: AccessRequestSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve: bind the space to the workspace (until ``expires``, if sent), as Bind/unbind does."""
        return self._decide(request, ApproveSerializer, services.approve)

    @extend_schema(
        request=DeclineSerializer,
        responses={200: AccessRequestSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """Decline, with a note the requester sees."""
        return self._decide(request, DeclineSerializer, services.decline)

    def _decide(self, request, body_serializer, decision):
        access_request = self.get_object()
        serializer = body_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            decision(access_request, request.user, **serializer.validated_data)
        return Response(AccessRequestSerializer(self.get_queryset().get(pk=access_request.pk)).data)

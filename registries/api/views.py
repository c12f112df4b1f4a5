"""The REST API for Integrated Registry (Admin), its registry spaces and their bindings.

Same rules as the pages in registries/views.py: Admin only, platform registries only (anything
else is out of scope and answers 404), and every write goes through registries.services.
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from portal.api.errors import service_errors
from portal.api.permissions import allowed_to
from portal.api.serializers import MessageSerializer
from registries import services
from registries.api.filters import RegistryFilter, SpaceFilter
from registries.api.serializers import (
    BindingRequestSerializer,
    BindingResultSerializer,
    BindRequestSerializer,
    RegistrySerializer,
    SpaceCreateSerializer,
    SpaceSerializer,
    SpaceVisibilitySerializer,
)
from registries.models import Registry, RegistrySpace, SpaceBinding
from workspaces.models import Workspace

BAD_REQUEST = OpenApiResponse(description="Field errors: {field: [message]} or non_field_errors.")


def _with_workspaces(spaces):
    """Spaces with their bound workspaces in one extra query, however many spaces there are."""
    return spaces.prefetch_related(
        Prefetch("workspaces", queryset=Workspace.objects.only("id", "name").order_by("name")),
        Prefetch(
            "bindings",
            queryset=SpaceBinding.objects.only("id", "space_id", "workspace_id", "expires").order_by(
                "workspace_id"
            ),
        ),
    )


def _enqueue_sync(registry):
    from registries.tasks import enqueue_sync

    return enqueue_sync(registry)


class RegistryWritesMixin:
    """Create, update, remove and "Sync now" for a registry viewset, through the services.

    Shared by the Admin's platform registries and a workspace's own registries; a viewset says
    which scope new registries get with ``new_registry_fields()``.
    """

    def new_registry_fields(self) -> dict:
        raise NotImplementedError

    def perform_create(self, serializer):
        password = serializer.validated_data.pop("password", "")
        registry = Registry(**self.new_registry_fields(), **serializer.validated_data)
        with service_errors():
            services.save_registry(
                registry, self.request.user, password=password or None, deadline=serializer.deadline
            )
        serializer.instance = registry
        _enqueue_sync(registry)

    def perform_update(self, serializer):
        password = serializer.validated_data.pop("password", "")
        registry = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(registry, name, value)
        with service_errors():
            services.save_registry(
                registry, self.request.user, password=password or None, deadline=serializer.deadline
            )

    def perform_destroy(self, instance):
        services.remove_registry(instance, self.request.user)

    def start_sync(self):
        registry = self.get_object()
        if registry.is_demo:
            message = _("Demo registries are never contacted, so they cannot be synced.")
            return Response(
                {api_settings.NON_FIELD_ERRORS_KEY: [message]}, status=status.HTTP_400_BAD_REQUEST
            )
        _enqueue_sync(registry)
        return Response(
            {"detail": _("Sync of %(name)s started.") % {"name": registry.name}},
            status=status.HTTP_202_ACCEPTED,
        )


class RegistryViewSet(RegistryWritesMixin, viewsets.ModelViewSet):
    """Integrated Registry (Admin): platform registries."""

    serializer_class = RegistrySerializer
    permission_classes = [allowed_to("manage_registries")]
    filterset_class = RegistryFilter
    lookup_value_converter = "int"

    def get_queryset(self):
        return Registry.objects.platform().order_by("name")

    def new_registry_fields(self) -> dict:
        return {"scope": Registry.Scope.PLATFORM}

    @extend_schema(
        operation_id="registries_sync", request=None, responses={202: MessageSerializer, 400: BAD_REQUEST}
    )
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """Sync now: queue a sync of the registry's spaces, repositories and tags."""
        return self.start_sync()


@extend_schema_view(
    post=extend_schema(request=SpaceCreateSerializer, responses={201: SpaceSerializer, 400: BAD_REQUEST}),
)
class RegistrySpaceListView(generics.ListCreateAPIView):
    """The Registry space tab: a registry's spaces, and Create registry space."""

    serializer_class = SpaceSerializer
    permission_classes = [allowed_to("manage_registries")]
    filterset_class = SpaceFilter

    def get_registry(self) -> Registry:
        if not hasattr(self, "_registry"):
            self._registry = get_object_or_404(Registry.objects.platform(), pk=self.kwargs["registry_pk"])
        return self._registry

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RegistrySpace.objects.none()
        return _with_workspaces(self.get_registry().spaces.order_by("name"))

    def create(self, request, *args, **kwargs):
        registry = self.get_registry()
        serializer = SpaceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            space = services.create_space(registry, request.user, **serializer.validated_data)
        space = _with_workspaces(RegistrySpace.objects.filter(pk=space.pk)).get()
        return Response(SpaceSerializer(space).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    partial_update=extend_schema(
        request=SpaceVisibilitySerializer, responses={200: SpaceSerializer, 400: BAD_REQUEST}
    ),
    destroy=extend_schema(responses={204: None, 400: BAD_REQUEST}),
)
class SpaceViewSet(mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """One registry space: its bound workspaces, its type (public/private), bind and unbind."""

    serializer_class = SpaceSerializer
    permission_classes = [allowed_to("manage_registries")]
    lookup_value_converter = "int"

    def get_queryset(self):
        return _with_workspaces(
            RegistrySpace.objects.select_related("registry").filter(registry__scope=Registry.Scope.PLATFORM)
        )

    def _fresh(self, space) -> dict:
        return SpaceSerializer(self.get_queryset().get(pk=space.pk)).data

    def partial_update(self, request, *args, **kwargs):
        """Change the type (public/private): written to the registry first, then stored."""
        space = self.get_object()
        serializer = SpaceVisibilitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            services.set_visibility(space, request.user, serializer.validated_data["visibility"])
        return Response(self._fresh(space))

    def perform_destroy(self, instance):
        with service_errors():
            services.delete_space(instance, self.request.user)

    def _change(self, request, direction: str, request_serializer=BindingRequestSerializer):
        space = self.get_object()
        serializer = request_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            workspaces = services.resolve_workspaces(serializer.validated_data["workspaces"])
            expires = None
            if "expires" in serializer.validated_data:
                expires = {workspace: serializer.validated_data["expires"] for workspace in workspaces}
            change = services.change_bindings(space, request.user, **{direction: workspaces}, expires=expires)
        bound = space.workspaces.only("id", "name").order_by("name")
        return Response(
            BindingResultSerializer(
                {
                    "added": change.added,
                    "removed": change.removed,
                    "extended": change.extended,
                    "workspaces": bound,
                }
            ).data
        )

    @extend_schema(
        operation_id="spaces_bind",
        request=BindRequestSerializer,
        responses={200: BindingResultSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["post"])
    def bind(self, request, pk=None):
        """Bind workspaces to the space, optionally until ``expires``; ones already bound keep
        their binding (and get ``expires`` as their end when it is sent)."""
        return self._change(request, "add", BindRequestSerializer)

    @extend_schema(
        operation_id="spaces_unbind",
        request=BindingRequestSerializer,
        responses={200: BindingResultSerializer, 400: BAD_REQUEST},
    )
    @action(detail=True, methods=["post"])
    def unbind(self, request, pk=None):
        """Unbind workspaces from the space; ones not bound are left as they are."""
        return self._change(request, "remove")

"""The REST API behind Choose Image, the explainer and Create by Image, per namespace.

- ``GET namespaces/{id}/images/?tab=public|private&registry=&q=``: the picker's repositories.
- ``GET namespaces/{id}/images/{repository_id}/tags/``: a repository's tags.
- ``GET namespaces/{id}/explain/?image=REF[&tab=]``: the FAQ's checks, in order.
- ``POST namespaces/{id}/manifests/``: the Deployment YAML.

The repository page, per user (any repository the access rule lets them see; others 404):

- ``GET repositories/{id}/``: description (Markdown, and as sanitized HTML), pulls, and what
  the user may do; ``DELETE`` with ``{"confirm": name}`` deletes the repository.
- ``GET repositories/{id}/tags/``: its tags; ``DELETE repositories/{id}/tags/{tag}/`` with
  ``{"confirm": tag}`` deletes one tag.
- ``DELETE repositories/{id}/artifacts/{digest}/`` with ``{"confirm": first 12 of the hash}``:
  the image and every tag on it.
- ``GET repositories/{id}/artifacts/{digest}/layers/``: layers per platform (cached).
- ``GET repositories/{id}/artifacts/{digest}/scan/``: Harbor's scan overview; ``POST``: scan.

Scans and deletions need registries.access.can_push (403 for those who only see the
repository); a registry that refuses or does not support it answers 409 and changes nothing.

The namespace must be one the user may browse (members of its workspace, any role; a platform
Admin also the namespaces bound to no workspace) or, for manifests, use (Workspace Admin or
Editor). A Viewer asking for a manifest gets 403; any other namespace answers 404. What is
listed comes from registries/access.py only.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.pagination import StrictPageNumberPagination
from portal.api.serializers import MessageSerializer, StrictSerializer
from portal.inputs import WholeNumberField, id_serializer_field
from portal.validators import dns_label_validator
from registries import access, deploy_views, explain, image_details, imagerefs, services
from registries.api.filters import RepositoryFilter
from registries.image_views import LISTED_COLUMNS, artifact_digest, explainable_namespaces, visible_repository
from registries.models import Repository, Tag
from registries.paging import CappedCountPagination
from workspaces import manifests
from workspaces.models import Namespace
from workspaces.scope import namespace_for

BAD_REQUEST = OpenApiResponse(description="Field errors: {field: [message]}.")


def _namespace(request, pk, action: str = "browse_images") -> Namespace:
    return namespace_for(request.user, pk, action, scope=access.namespaces_for_user(request.user, action))


# Serializers ------------------------------------------------------------------------------


class PickerQuerySerializer(serializers.Serializer):
    tab = serializers.ChoiceField(choices=access.TABS, default=access.PUBLIC)
    registry = id_serializer_field(required=False, allow_null=True)
    q = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")

    def to_internal_value(self, data):
        # Given but empty is an error for tab and registry (not "no filter"); q may be empty.
        data = {key: data.get(key) for key in ("tab", "registry", "q") if key in data}
        return super().to_internal_value(data)


class RegistryRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    host = serializers.CharField()
    scope = serializers.CharField()
    status = serializers.CharField()


class SpaceRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    visibility = serializers.CharField()


class PickerRepositorySerializer(serializers.ModelSerializer):
    short_name = serializers.CharField(read_only=True)
    space = SpaceRefSerializer(read_only=True)
    registry = RegistryRefSerializer(source="space.registry", read_only=True)
    image = serializers.SerializerMethodField(help_text=gettext_lazy("host/repository, without a tag."))

    class Meta:
        model = Repository
        fields = [
            "id",
            "name",
            "short_name",
            "description",
            "tag_count",
            "last_push",
            "space",
            "registry",
            "image",
        ]
        read_only_fields = fields

    def get_image(self, repository) -> str:
        return imagerefs.of_repository(repository)


class PickerTagSerializer(serializers.ModelSerializer):
    image = serializers.SerializerMethodField(help_text=gettext_lazy("host/repository:tag"))
    pinned_image = serializers.SerializerMethodField(help_text=gettext_lazy("host/repository@digest"))

    class Meta:
        model = Tag
        fields = ["id", "name", "digest", "size", "pushed", "platforms", "image", "pinned_image"]
        read_only_fields = fields

    def _repository(self):
        return self.context["repository"]

    def get_image(self, tag) -> str:
        repository = self._repository()
        return imagerefs.of_repository(repository, tag=tag.name)

    def get_pinned_image(self, tag) -> str | None:
        if not tag.digest:
            return None
        repository = self._repository()
        return imagerefs.of_repository(repository, digest=tag.digest)


class CheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    state = serializers.ChoiceField(choices=[explain.PASSED, explain.FAILED, explain.NOT_REACHED])
    passed = serializers.BooleanField()
    message = serializers.CharField()
    fixer = serializers.CharField()


class ExplanationSerializer(serializers.Serializer):
    namespace = serializers.IntegerField()
    image = serializers.CharField()
    allowed = serializers.BooleanField(help_text=gettext_lazy("The access rule lets the namespace use it."))
    listed = serializers.BooleanField(help_text=gettext_lazy("Every check passed: Choose Image lists it."))
    tab = serializers.CharField(allow_null=True)
    checks = CheckSerializer(many=True)


class ImageRefField(serializers.CharField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return str(imagerefs.parse(value))
        except imagerefs.ImageRefError as error:
            raise serializers.ValidationError(error.message) from None


class ManifestRequestSerializer(StrictSerializer):
    name = serializers.CharField(
        max_length=63,
        validators=[dns_label_validator],
        help_text=gettext_lazy("Application name: a DNS label."),
    )
    image = ImageRefField(max_length=imagerefs.MAX_REFERENCE_LENGTH)
    replicas = WholeNumberField(min_value=0, max_value=deploy_views.MAX_REPLICAS, default=1)
    container_port = WholeNumberField(min_value=1, max_value=65535, default=80)
    always_pull = serializers.BooleanField(default=False)


class ManifestSerializer(serializers.Serializer):
    filename = serializers.CharField()
    private = serializers.BooleanField(help_text=gettext_lazy("The pod spec references registry-secret."))
    manifest = serializers.CharField(help_text=gettext_lazy("The Deployment as YAML."))


class YAMLRenderer(BaseRenderer):
    """``?format=yaml`` or ``Accept: application/yaml``: the manifest itself, as a file."""

    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only a manifest is ever rendered here: NamespaceManifestView answers errors in JSON.
        return data["manifest"].encode()


# Views ------------------------------------------------------------------------------------


class PickerPagination(StrictPageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class PickerImagesPagination(CappedCountPagination, PickerPagination):
    """The picker's repositories: a capped count (registries/paging.py), as on the pages."""

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"].update(
            {
                "tab": {"type": "string", "enum": list(access.TABS)},
                "notice": {
                    "type": "string",
                    "nullable": True,
                    "description": "Set for a namespace bound to no workspace: only public images.",
                },
                "empty_reason": {
                    "type": "string",
                    "nullable": True,
                    "description": "Why the list is empty (the picker's empty state).",
                },
            }
        )
        return response


@extend_schema(
    parameters=[
        OpenApiParameter("tab", OpenApiTypes.STR, enum=list(access.TABS)),
        OpenApiParameter("registry", OpenApiTypes.INT, description="Only this registry instance."),
        OpenApiParameter("q", OpenApiTypes.STR, description="Search in repository names."),
    ]
)
class NamespaceImagesView(generics.ListAPIView):
    """Choose Image: the repositories a namespace may use, on the Public or the Private tab.

    Besides the page, the answer says why a list is empty (``empty_reason``) and, for a
    namespace bound to no workspace, that only public images are available (``notice``).
    """

    serializer_class = PickerRepositorySerializer
    pagination_class = PickerImagesPagination
    filter_backends = []

    def _params(self):
        if not hasattr(self, "_cleaned"):
            query = PickerQuerySerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            self._cleaned = query.validated_data
        return self._cleaned

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Repository.objects.none()
        self.namespace = _namespace(self.request, self.kwargs["namespace_pk"])
        params = self._params()
        repositories = access.repositories_to_list(access.spaces_for_namespace(self.namespace, params["tab"]))
        # The parameters were checked strictly above; the filter itself is the pages' one.
        repositories = RepositoryFilter(self.request.query_params, queryset=repositories).qs
        return repositories.select_related("space__registry").only(*LISTED_COLUMNS).order_by("name", "pk")

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        params = self._params()
        namespace = self.namespace
        response.data["tab"] = params["tab"]
        response.data["notice"] = explain.not_bound_notice(namespace)
        response.data["empty_reason"] = None
        if response.data["count"] == 0:
            response.data["empty_reason"] = explain.picker_empty_state(
                namespace, params["tab"], q=params["q"], registry_id=params.get("registry")
            )
        return response


class NamespaceImageTagsView(generics.ListAPIView):
    """The tags of one repository the namespace may use (either tab), newest first."""

    serializer_class = PickerTagSerializer
    pagination_class = PickerPagination
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Tag.objects.none()
        namespace = _namespace(self.request, self.kwargs["namespace_pk"])
        visible = access.repositories_in(access.spaces_for_namespace(namespace))
        self.repository = get_object_or_404(
            visible.select_related("space__registry"), pk=self.kwargs["repository_pk"]
        )
        return Tag.objects.filter(repository=self.repository).order_by("-pushed", "name", "pk")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if hasattr(self, "repository"):
            context["repository"] = self.repository
        return context


class NamespaceExplainView(APIView):
    """Why can't I see this image? The FAQ's checks for the namespace and ``image``, in order."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "image",
                {"type": "string", "minLength": 1, "maxLength": imagerefs.MAX_REFERENCE_LENGTH},
                required=True,
            ),
            OpenApiParameter(
                "tab",
                OpenApiTypes.STR,
                enum=list(access.TABS),
                description="The tab the user is looking at, if any.",
            ),
        ],
        responses={200: ExplanationSerializer, 400: BAD_REQUEST},
    )
    def get(self, request, namespace_pk):
        namespace = get_object_or_404(
            explainable_namespaces(request.user).select_related("cluster", "workspace"), pk=namespace_pk
        )
        image = request.query_params.get("image", "")
        if not image.strip():
            raise ValidationError({"image": [_("This field is required.")]})
        tab = request.query_params.get("tab")
        if tab is not None and tab not in access.TABS:
            raise ValidationError({"tab": [_("Use public or private.")]})
        try:
            imagerefs.parse(image)
        except imagerefs.ImageRefError as error:
            raise ValidationError({"image": [error.message]}) from None
        result = explain.explain(namespace, image, user=request.user, tab=tab)
        return Response(
            {
                "namespace": namespace.pk,
                "image": result.image,
                "allowed": result.allowed,
                "listed": result.listed,
                "tab": result.on_tab,
                "checks": [check.as_dict() for check in result.checks],
            }
        )


class NamespaceManifestView(APIView):
    """Create by Image: the Deployment for an image in this namespace.

    JSON by default (``manifest`` holds the YAML); ``?format=yaml`` (or ``Accept:
    application/yaml``) answers the YAML itself as the file ``<name>.yaml``.
    """

    renderer_classes = [JSONRenderer, YAMLRenderer]

    @extend_schema(
        request=ManifestRequestSerializer,
        responses={
            (200, "application/json"): ManifestSerializer,
            (200, "application/yaml"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="The Deployment itself, as the file <name>.yaml."
            ),
            400: BAD_REQUEST,
        },
    )
    def post(self, request, namespace_pk):
        namespace = self._namespace(request, namespace_pk)
        serializer = ManifestRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data, namespace=namespace)
        manifest, private = deploy_views.build(data)
        filename = manifests.filename(data["name"])
        response = Response(
            {"filename": filename, "private": private, "manifest": manifest}, status=status.HTTP_200_OK
        )
        if getattr(request, "accepted_renderer", None) and request.accepted_renderer.format == "yaml":
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        # The YAML renderer writes manifests only. The format is negotiated before
        # authentication and validation run, so an error (401, 400, 404, ...) to a request
        # that asked for YAML is answered in JSON, as every other API error.
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and isinstance(renderer, YAMLRenderer):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def _namespace(self, request, pk) -> Namespace:
        # A member whose role may browse but not use images: forbidden, not hidden.
        return namespace_for(
            request.user,
            pk,
            "use_images",
            scope=access.namespaces_for_user(request.user, "browse_images"),
            refused=PermissionDenied(_("Workspace Viewers may browse images but not create manifests.")),
        )


# The repository page --------------------------------------------------------------------------

REFUSED = OpenApiResponse(
    MessageSerializer,
    description="The registry refused, failed or does not support it; nothing changed. {detail}.",
)


class RepositoryDetailSerializer(serializers.ModelSerializer):
    space = SpaceRefSerializer(read_only=True)
    registry = RegistryRefSerializer(source="space.registry", read_only=True)
    image = serializers.SerializerMethodField(help_text=gettext_lazy("host/repository, without a tag."))
    description_html = serializers.SerializerMethodField(
        help_text=gettext_lazy("The description rendered as Markdown, without any raw HTML.")
    )
    pull_count = serializers.SerializerMethodField(
        help_text=gettext_lazy("Pulls as the registry counts them; null where it does not (Docker Registry).")
    )
    may_push = serializers.SerializerMethodField(
        help_text=gettext_lazy("The user may push, scan and delete here.")
    )
    scanning = serializers.SerializerMethodField(
        help_text=gettext_lazy("The registry scans images for vulnerabilities (Harbor).")
    )

    class Meta:
        model = Repository
        fields = [
            "id",
            "name",
            "short_name",
            "description",
            "description_html",
            "pull_count",
            "tag_count",
            "last_push",
            "space",
            "registry",
            "image",
            "may_push",
            "scanning",
        ]
        read_only_fields = fields

    def get_image(self, repository) -> str:
        return imagerefs.of_repository(repository)

    def get_description_html(self, repository) -> str:
        return str(image_details.render_description(repository.description))

    def get_pull_count(self, repository) -> int | None:
        return repository.pull_count if repository.space.registry.kind_plugin.pull_count else None

    def get_may_push(self, repository) -> bool:
        return access.can_push(self.context["request"].user, repository.space)

    def get_scanning(self, repository) -> bool:
        return image_details.supports_scanning(repository.space.registry)


class RepositoryTagSerializer(PickerTagSerializer):
    pass


class ConfirmSerializer(StrictSerializer):
    confirm = serializers.CharField(
        max_length=300,
        help_text=gettext_lazy(
            "The name, typed again: the repository's full name, the tag, or the first 12 characters of "
            "the digest's hash."
        ),
    )


class LayerSerializer(serializers.Serializer):
    digest = serializers.CharField()
    media_type = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    created_by = serializers.CharField(help_text=gettext_lazy("The config history's line, or empty."))


class PlatformLayersSerializer(serializers.Serializer):
    platform = serializers.CharField()
    digest = serializers.CharField()
    layers = LayerSerializer(many=True)


class SeverityCountSerializer(serializers.Serializer):
    severity = serializers.CharField()
    count = serializers.IntegerField()


SCAN_STATES = ["not_scanned", "queued", "scanning", "error", "complete"]


class ScanOverviewSerializer(serializers.Serializer):
    supported = serializers.BooleanField(help_text=gettext_lazy("False: the registry does not scan."))
    status = serializers.ChoiceField(choices=SCAN_STATES, allow_null=True)
    severity = serializers.CharField(allow_blank=True, allow_null=True)
    counts = SeverityCountSerializer(many=True)
    total = serializers.IntegerField()
    fixable = serializers.IntegerField()
    scanner = serializers.CharField(allow_blank=True)
    finished = serializers.DateTimeField(allow_null=True)


def _scan_answer(overview) -> dict:
    if overview is None:
        return {
            "supported": False,
            "status": None,
            "severity": None,
            "counts": [],
            "total": 0,
            "fixable": 0,
            "scanner": "",
            "finished": None,
        }
    return {
        "supported": True,
        "status": overview.status,
        "severity": overview.severity,
        "counts": [{"severity": severity, "count": count} for severity, count in overview.counts],
        "total": overview.total,
        "fixable": overview.fixable,
        "scanner": overview.scanner,
        "finished": overview.finished,
    }


def _may_push(request, repository) -> None:
    if not access.can_push(request.user, repository.space):
        raise PermissionDenied(
            _("Only those who may push into this registry space can scan or delete its images.")
        )


def _confirmation(request) -> str:
    body = ConfirmSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data["confirm"]


def _service_call(call):
    """Run a service; its refusals become 400 (the confirmation) or 409 (the registry)."""
    try:
        call()
    except services.ServiceError as error:
        if error.field == "confirm":
            raise ValidationError({"confirm": [error.message]}) from None
        return Response({"detail": error.message}, status=status.HTTP_409_CONFLICT)
    return None


class RepositoryDetailView(APIView):
    """A repository the user may see: its details; DELETE removes it from the registry and Wharf."""

    @extend_schema(responses={200: RepositoryDetailSerializer})
    def get(self, request, pk):
        repository = visible_repository(request.user, pk)
        return Response(RepositoryDetailSerializer(repository, context={"request": request}).data)

    @extend_schema(request=ConfirmSerializer, responses={204: None, 400: BAD_REQUEST, 409: REFUSED})
    def delete(self, request, pk):
        repository = visible_repository(request.user, pk)
        _may_push(request, repository)
        confirm = _confirmation(request)
        refused = _service_call(lambda: services.delete_repository(repository, request.user, confirm=confirm))
        return refused or Response(status=status.HTTP_204_NO_CONTENT)


class RepositoryTagListView(generics.ListAPIView):
    """The tags of a repository the user may see, newest first."""

    serializer_class = RepositoryTagSerializer
    pagination_class = PickerPagination
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Tag.objects.none()
        self.repository = visible_repository(self.request.user, self.kwargs["pk"])
        return Tag.objects.filter(repository=self.repository).order_by("-pushed", "name", "pk")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if hasattr(self, "repository"):
            context["repository"] = self.repository
        return context


class RepositoryTagView(APIView):
    """DELETE: remove one tag (the image stays for its other tags and its digest)."""

    @extend_schema(request=ConfirmSerializer, responses={204: None, 400: BAD_REQUEST, 409: REFUSED})
    def delete(self, request, pk, tag):
        repository = visible_repository(request.user, pk)
        tag_object = get_object_or_404(Tag.objects.filter(repository=repository), name=tag)
        _may_push(request, repository)
        confirm = _confirmation(request)
        refused = _service_call(lambda: services.delete_tag(tag_object, request.user, confirm=confirm))
        return refused or Response(status=status.HTTP_204_NO_CONTENT)


class ArtifactView(APIView):
    """DELETE: remove the image (or multi-platform index) and every tag on it."""

    @extend_schema(request=ConfirmSerializer, responses={204: None, 400: BAD_REQUEST, 409: REFUSED})
    def delete(self, request, pk, digest):
        repository = visible_repository(request.user, pk)
        digest = artifact_digest(repository, digest)
        _may_push(request, repository)
        confirm = _confirmation(request)
        refused = _service_call(
            lambda: services.delete_artifact(repository, digest, request.user, confirm=confirm)
        )
        return refused or Response(status=status.HTTP_204_NO_CONTENT)


class ArtifactLayersView(APIView):
    """The layers of each platform of an image, read from the registry and cached by digest."""

    @extend_schema(responses={200: PlatformLayersSerializer(many=True), 409: REFUSED})
    def get(self, request, pk, digest):
        repository = visible_repository(request.user, pk)
        digest = artifact_digest(repository, digest)
        try:
            platforms = image_details.layers(repository, digest, request.user)
        except image_details.DetailError as error:
            return Response({"detail": error.message}, status=status.HTTP_409_CONFLICT)
        return Response(PlatformLayersSerializer(platforms, many=True).data)


class ArtifactScanView(APIView):
    """GET: Harbor's scan overview (``supported: false`` elsewhere). POST: ask Harbor to scan."""

    @extend_schema(responses={200: ScanOverviewSerializer, 409: REFUSED})
    def get(self, request, pk, digest):
        repository = visible_repository(request.user, pk)
        digest = artifact_digest(repository, digest)
        try:
            overview = image_details.scan_overview(repository, digest, request.user)
        except image_details.DetailError as error:
            return Response({"detail": error.message}, status=status.HTTP_409_CONFLICT)
        return Response(ScanOverviewSerializer(_scan_answer(overview)).data)

    @extend_schema(request=None, responses={202: MessageSerializer, 409: REFUSED})
    def post(self, request, pk, digest):
        repository = visible_repository(request.user, pk)
        digest = artifact_digest(repository, digest)
        _may_push(request, repository)
        refused = _service_call(lambda: services.request_scan(repository, digest, request.user))
        return refused or Response(
            {"detail": _("Harbor was asked to scan the image.")}, status=status.HTTP_202_ACCEPTED
        )

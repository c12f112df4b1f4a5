"""GET /api/v1/namespaces/{id}/pull-secret/: the namespace's registry-secret manifest."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from portal.permissions import can
from registries import pull_secrets
from workspaces.models import Namespace


@extend_schema(
    responses={200: dict},
    description="The Kubernetes Secret `registry-secret` (dockerconfigjson) with the workspace's "
                "pull credentials. Workspace Admins and Editors of the namespace's workspace, and "
                "Admins, may fetch it; every fetch is audited.",
)
@api_view(["GET"])
def namespace_pull_secret(request, pk):
    namespace = get_object_or_404(
        Namespace.objects.visible_to(request.user).select_related("cluster", "workspace"), pk=pk)
    if namespace.workspace is None:
        raise NotFound("This namespace is not bound to a workspace, so it has no pull secret.")
    if not can(request.user, "fetch_pull_secret", namespace.workspace):
        raise PermissionDenied("Only Workspace Admins and Editors may fetch the pull secret.")
    manifest = pull_secrets.fetch_pull_secret(namespace, request.user)
    response = Response(manifest)
    response["Cache-Control"] = "no-store"
    return response

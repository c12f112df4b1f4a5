"""/api/v1/namespaces/{id}/pull-secret/: the namespace's registry-secret manifest.

GET writes its audit event and nothing else: a token-service registry whose credential does
not exist yet (one is minted when a private space is bound) is left out. POST mints the
missing credentials first, as the page's download does.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from registries import pull_secrets
from workspaces.scope import namespace_for

WHO = (
    "Workspace Admins and Editors of the namespace's workspace, and Admins, may fetch it; "
    "every fetch is audited."
)


@extend_schema(
    methods=["GET"],
    responses={200: dict},
    description="The Kubernetes Secret `registry-secret` (dockerconfigjson) with the workspace's "
    "pull credentials. Writes nothing but its audit event: a token-service registry "
    "without a credential yet is left out (POST mints it). " + WHO,
)
@extend_schema(
    methods=["POST"],
    request=None,
    responses={200: dict},
    description="Mint the workspace's missing token-service pull credentials, then return the "
    "Secret as GET does. " + WHO,
)
@api_view(["GET", "POST"])
def namespace_pull_secret(request, pk):
    namespace = namespace_for(
        request.user,
        pk,
        "fetch_pull_secret",
        unbound=NotFound(_("This namespace is not bound to a workspace, so it has no pull secret.")),
        refused=PermissionDenied(_("Only Workspace Admins and Editors may fetch the pull secret.")),
    )
    manifest = pull_secrets.fetch_pull_secret(namespace, request.user, mint=request.method == "POST")
    response = Response(manifest)
    response["Cache-Control"] = "no-store"
    return response

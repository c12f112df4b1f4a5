"""/api/v1/registries/{id}/login-command/: the signed-in user's temporary registry logins.

Any signed-in user, for a registry they may see anything of (others answer 404); what the
login may do is what their role allows there (registries/login_commands.py).
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.errors import service_errors
from registries import access, login_commands
from registries.api.serializers import (
    LoginCommandRequestSerializer,
    LoginCommandSerializer,
    LoginCredentialSerializer,
    LoginRevokeSerializer,
)

WHAT = (
    "Pull on the spaces of this registry the user may see, push where their role lets them "
    "push (Workspace Admins and Editors into their workspace's private spaces; Admins "
    "anywhere). Token-service Docker Registries and platform Harbor registries only; "
    "others answer 400."
)


class LoginCommandView(APIView):
    def _registry(self):
        return get_object_or_404(access.registries_for_user(self.request.user), pk=self.kwargs["registry_pk"])

    @extend_schema(
        operation_id="registries_login_command_list",
        responses={200: LoginCredentialSerializer(many=True)},
        description="The user's login commands for this registry that still work, without their passwords.",
    )
    def get(self, request, registry_pk):
        registry = self._registry()
        credentials = login_commands.active_for(request.user, registry)
        return Response(LoginCredentialSerializer(credentials, many=True).data)

    @extend_schema(
        operation_id="registries_login_command_create",
        request=LoginCommandRequestSerializer,
        responses={
            201: LoginCommandSerializer,
            400: OpenApiResponse(description="A bad lifetime, or a registry without login commands."),
        },
        description="Generate a temporary login for the signed-in user; the password "
        "is in this answer only. Audited. " + WHAT,
    )
    def post(self, request, registry_pk):
        registry = self._registry()
        serializer = LoginCommandRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            generated = login_commands.generate(
                request.user, registry, serializer.validated_data.get("lifetime")
            )
        response = Response(LoginCommandSerializer(generated).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        operation_id="registries_login_command_revoke",
        request=LoginRevokeSerializer,
        responses={204: None},
        description="Revoke one of the user's login commands for this registry now "
        "(404 for an unknown username). Audited.",
    )
    def delete(self, request, registry_pk):
        registry = self._registry()
        serializer = LoginRevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            login_commands.revoke(request.user, registry, serializer.validated_data["username"])
        except login_commands.UnknownLogin:
            raise NotFound() from None
        return Response(status=status.HTTP_204_NO_CONTENT)

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.permissions import role_in
from workspaces.models import Membership, Workspace


class WorkspaceRefSerializer(serializers.ModelSerializer):
    """A workspace as other resources mention it."""

    class Meta:
        model = Workspace
        fields = ["id", "name"]
        read_only_fields = fields


class WorkspaceSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(
        help_text=_("Your role in the workspace; null when you are not a member."))

    class Meta:
        model = Workspace
        fields = ["id", "name", "description", "created", "role"]
        read_only_fields = ["id", "created", "role"]

    @extend_schema_field(serializers.ChoiceField(choices=Membership.Role.choices, allow_null=True))
    def get_role(self, workspace) -> str | None:
        request = self.context.get("request")
        return role_in(request.user, workspace) if request else None



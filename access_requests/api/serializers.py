from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from access_requests.models import AccessRequest, space_name_validator
from portal.api.serializers import StrictSerializer
from portal.inputs import id_serializer_field
from workspaces.api.serializers import WorkspaceRefSerializer


class AccessRequestSerializer(serializers.ModelSerializer):
    workspace = WorkspaceRefSerializer(read_only=True)
    registry_name = serializers.CharField(source="registry.name", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    matching_space = serializers.SerializerMethodField(
        help_text=_(
            "Admins only: the id of the registry space the name matches, or null when the registry has "
            "no such space (as of its last sync). Always null for everyone else, so that a request "
            "never tells a member whether a private space exists."
        )
    )

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "workspace",
            "registry",
            "registry_name",
            "space_name",
            "reason",
            "status",
            "times_requested",
            "requested_by",
            "created",
            "decided_by",
            "decided",
            "note",
            "expires",
            "matching_space",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_matching_space(self, access_request) -> int | None:
        # Annotated by the view for Admins only.
        return getattr(access_request, "matching_space_id", None)


class AccessRequestCreateSerializer(StrictSerializer):
    workspace = id_serializer_field(
        help_text=_("Id of your workspace (you are its Workspace Admin or Editor).")
    )
    registry = id_serializer_field(help_text=_("Id of an Integrated Registry (Admin)."))
    space_name = serializers.CharField(
        max_length=255,
        help_text=_("The registry space's name, as in image references (harbor.example.com/<space>/app)."),
    )
    reason = serializers.CharField(max_length=2000)

    def validate_space_name(self, value):
        value = value.strip().lower()
        space_name_validator(value)
        return value


class ApproveSerializer(StrictSerializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    expires = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "When the binding the approval makes ends (ISO 8601, in the future); null or left out: no end."
        ),
    )


class DeclineSerializer(StrictSerializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.serializers import CompleteBodySerializer, StrictModelSerializer, StrictSerializer
from portal.validators import dns_label_validator
from registries.models import Registry, RegistrySpace
from registries.services import MAX_WORKSPACES_PER_CHANGE
from workspaces.api.serializers import WorkspaceRefSerializer


class RegistrySerializer(StrictModelSerializer):
    # Write-only: a stored password never leaves Wharf. Blank or omitted on update keeps it.
    password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, trim_whitespace=False,
        style={"input_type": "password"},
        help_text=_("Write-only. Leave out (or blank) on update to keep the current password."),
    )
    has_password = serializers.BooleanField(read_only=True)
    space_count = serializers.SerializerMethodField()

    class Meta:
        model = Registry
        fields = ["id", "name", "kind", "url", "username", "password", "has_password", "verify_tls",
                  "ca_bundle", "token_service", "is_demo", "status", "status_message", "status_changed",
                  "last_sync",
                  "last_sync_error", "space_count", "created", "updated"]
        read_only_fields = ["is_demo", "status", "status_message", "status_changed", "last_sync",
                            "last_sync_error", "created", "updated"]

    @extend_schema_field(serializers.IntegerField())
    def get_space_count(self, registry) -> int:
        annotated = getattr(registry, "space_count", None)
        return annotated if annotated is not None else registry.spaces.count()

    def validate_kind(self, kind):
        if self.instance is not None and kind != self.instance.kind:
            # The kind decides the client and what the spaces mean; changing it is a new registry.
            raise serializers.ValidationError(
                _("The kind of a registry cannot be changed; integrate a new registry instead."))
        return kind

    def validate_url(self, url):
        return url.rstrip("/")

    def validate(self, data):
        kind = data.get("kind", self.instance.kind if self.instance else None)
        token_service = data.get("token_service", self.instance.token_service if self.instance else False)
        if problem := Registry(kind=kind, token_service=token_service).token_service_problem():
            raise serializers.ValidationError({"token_service": [problem]})
        return data


class SpaceSerializer(serializers.ModelSerializer):
    workspaces = WorkspaceRefSerializer(many=True, read_only=True)

    class Meta:
        model = RegistrySpace
        fields = ["id", "registry", "name", "visibility", "missing", "repository_count",
                  "upstream_created", "created", "updated", "workspaces"]
        read_only_fields = fields


class SpaceCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=63, validators=[dns_label_validator])
    visibility = serializers.ChoiceField(choices=RegistrySpace.Visibility.choices,
                                         default=RegistrySpace.Visibility.PRIVATE)


class SpaceVisibilitySerializer(CompleteBodySerializer):
    visibility = serializers.ChoiceField(choices=RegistrySpace.Visibility.choices)


@extend_schema_field({"type": "array", "items": {"type": "integer", "minimum": 1},
                      "minItems": 1, "maxItems": MAX_WORKSPACES_PER_CHANGE})
class WorkspaceIdsField(serializers.ListField):
    """Ids as sent: registries.services.resolve_workspaces takes whole numbers only (not 1.0,
    true or "١") and refuses unknown, repeated or too many, with one message for pages and API."""


class BindingRequestSerializer(StrictSerializer):
    workspaces = WorkspaceIdsField(
        allow_empty=False,
        help_text=_("Workspace ids, at most 1000."),
    )


class BindingResultSerializer(serializers.Serializer):
    added = WorkspaceRefSerializer(many=True, read_only=True)
    removed = WorkspaceRefSerializer(many=True, read_only=True)
    workspaces = WorkspaceRefSerializer(many=True, read_only=True,
                                        help_text=_("The workspaces bound after the change."))


class WorkspaceRegistrySerializer(RegistrySerializer):
    """A registry one workspace integrates for itself: the same fields, plus the address rule."""

    class Meta(RegistrySerializer.Meta):
        fields = [*RegistrySerializer.Meta.fields, "workspace"]
        read_only_fields = [*RegistrySerializer.Meta.read_only_fields, "workspace"]

    def validate_url(self, url):
        from django.conf import settings

        from registries.addresses import refused_reason

        url = super().validate_url(url)
        reason = refused_reason(url, settings.WHARF_ALLOWED_REGISTRY_NETWORKS)
        if reason:
            raise serializers.ValidationError(reason)
        return url

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.serializers import CompleteBodySerializer, StrictModelSerializer, StrictSerializer
from portal.inputs import id_serializer_field
from portal.permissions import role_in
from portal.validators import dns_label_validator
from workspaces.models import Cluster, Membership, Namespace, Workspace


class WorkspaceRefSerializer(serializers.ModelSerializer):
    """A workspace as other resources mention it."""

    class Meta:
        model = Workspace
        fields = ["id", "name"]
        read_only_fields = fields


class WorkspaceSerializer(StrictModelSerializer):
    role = serializers.SerializerMethodField(
        help_text=_("Your role in the workspace; null when you are not a member.")
    )

    class Meta:
        model = Workspace
        fields = ["id", "name", "description", "created", "role"]
        read_only_fields = ["id", "created", "role"]

    @extend_schema_field(serializers.ChoiceField(choices=Membership.Role.choices, allow_null=True))
    def get_role(self, workspace) -> str | None:
        request = self.context.get("request")
        return role_in(request.user, workspace) if request else None


def id_field(queryset, what: str, **kwargs) -> serializers.PrimaryKeyRelatedField:
    """An object chosen by id. Only whole numbers: 1.0, true or "١" are not quietly read as 1."""
    return serializers.PrimaryKeyRelatedField(
        queryset=queryset,
        pk_field=id_serializer_field(),
        error_messages={"does_not_exist": _("There is no %(what)s with id {pk_value}.") % {"what": what}},
        **kwargs,
    )


# Members ----------------------------------------------------------------------------------


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "role", "created"]
        read_only_fields = fields


class MemberCreateSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150, help_text=_("The user to add, by username."))
    role = serializers.ChoiceField(choices=Membership.Role.choices)

    def validate_username(self, username):
        username = username.strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise serializers.ValidationError(_("There is no user named %(name)s.") % {"name": username})
        return user


class MemberRoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


# Clusters and namespaces ------------------------------------------------------------------


class ClusterSerializer(StrictModelSerializer):
    class Meta:
        model = Cluster
        fields = ["id", "name", "description", "created"]
        read_only_fields = ["id", "created"]


class ClusterRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cluster
        fields = ["id", "name"]
        read_only_fields = fields


class NamespaceSerializer(serializers.ModelSerializer):
    cluster = ClusterRefSerializer(read_only=True)
    workspace = WorkspaceRefSerializer(
        read_only=True, allow_null=True, help_text=_("The bound workspace; null when not bound.")
    )

    class Meta:
        model = Namespace
        fields = ["id", "cluster", "name", "workspace", "created"]
        read_only_fields = fields


class NamespaceCreateSerializer(StrictSerializer):
    cluster = id_field(Cluster.objects.all(), _("cluster"), help_text=_("Cluster id."))
    name = serializers.CharField(max_length=63, validators=[dns_label_validator])
    workspace = id_field(
        Workspace.objects.all(),
        _("workspace"),
        allow_null=True,
        default=None,
        help_text=_("Workspace id to bind to at once; null or left out: not bound."),
    )


class NamespaceBindSerializer(CompleteBodySerializer):
    workspace = id_field(
        Workspace.objects.all(),
        _("workspace"),
        allow_null=True,
        help_text=_("Workspace id to bind to, or null to unbind."),
    )

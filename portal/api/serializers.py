from collections.abc import Mapping

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils.html import is_html_input

from portal.models import AuditEvent


class MessageSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created",
            "actor",
            "actor_name",
            "action",
            "target_type",
            "target_id",
            "target_label",
            "before",
            "after",
            "request_id",
        ]
        read_only_fields = fields


class StrictTypes:
    """Request fields take the JSON type the schema documents.

    DRF's CharField reads 21992 as "21992" and its BooleanField reads 0, 1, "yes" or "on" as
    booleans: a client with a type bug is then quietly read as meaning something. Here a text
    field takes a string and a boolean field true or false (or "true"/"false", as form-encoded
    bodies send them); numbers go through portal.inputs.WholeNumberField.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {}
            for field in self._writable_fields:
                value = field.get_value(data)
                if value is empty or value is None:
                    continue
                if value == "" and isinstance(field, serializers.RelatedField) and not is_html_input(data):
                    # DRF reads "" as null for relations: in JSON, null is how to say "none".
                    errors[field.field_name] = [_("Send a value, or null for none.")]
                    continue
                if isinstance(field, serializers.CharField) and not isinstance(value, str):
                    errors[field.field_name] = [field.error_messages["invalid"]]
                elif isinstance(field, serializers.BooleanField) and not _is_boolean(value):
                    errors[field.field_name] = [field.error_messages["invalid"]]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _is_boolean(value) -> bool:
    return isinstance(value, bool) or (isinstance(value, str) and value.lower() in {"true", "false"})


class StrictSerializer(StrictTypes, serializers.Serializer):
    pass


class StrictModelSerializer(StrictTypes, serializers.ModelSerializer):
    pass


class CompleteBodySerializer(StrictSerializer):
    """A request body that is always complete, also for PATCH.

    Some PATCH operations change one thing and take exactly that one field (bind a namespace,
    make a space public). DRF and the schema generator would treat a PATCH body as partial,
    i.e. every field optional; here the body is validated whole, so the schema says so too.
    """

    @property
    def partial(self):
        return False

    @partial.setter
    def partial(self, value):
        pass

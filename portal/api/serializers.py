from rest_framework import serializers

from portal.models import AuditEvent


class MessageSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "created", "actor", "actor_name", "action", "target_type", "target_id",
                  "target_label", "before", "after", "request_id"]
        read_only_fields = fields

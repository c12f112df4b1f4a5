from rest_framework import viewsets

from portal.api.filters import AuditEventFilter
from portal.api.permissions import allowed_to
from portal.api.serializers import AuditEventSerializer
from portal.models import AuditEvent


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log (Admin only); read-only, events are written by the changes they record."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    permission_classes = [allowed_to("view_audit_log")]
    filterset_class = AuditEventFilter
    lookup_value_converter = "int"

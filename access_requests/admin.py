"""Access requests in Django admin: read only; they are decided on the Access requests page or
through the API (access_requests.services)."""

from django.contrib import admin

from access_requests.models import AccessRequest
from portal.admin_site import ReadOnlyAdmin


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ["registry", "space_name", "workspace", "status", "requested_by", "created", "decided"]
    list_filter = ["status", "registry"]
    search_fields = ["space_name", "workspace__name"]
    list_select_related = ["registry", "workspace", "requested_by"]

from django.contrib import admin

from portal.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created", "actor_name", "action", "target_type", "target_label", "request_id"]
    list_filter = ["action", "target_type", "created"]
    search_fields = ["actor_name", "action", "target_label", "target_id", "request_id"]
    date_hierarchy = "created"

    # The audit log is evidence: it is read here, never edited.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""Workspaces in Django admin: writes through workspaces.services (see portal/admin_site.py)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from portal.admin_site import RoutedAdmin
from workspaces import services
from workspaces.models import Cluster, Membership, Namespace, Workspace


def _links(admin_site, url_name, rows):
    return (
        format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse(f"{admin_site.name}:{url_name}", args=[pk]), label) for pk, label in rows),
        )
        or "-"
    )


@admin.register(Workspace)
class WorkspaceAdmin(RoutedAdmin):
    list_display = ["name", "description", "created"]
    search_fields = ["name", "description"]
    # Not "namespaces" or "bound_spaces": admin would take those for the reverse relations.
    fields = ["name", "description", "member_list", "namespace_list", "binding_list", "created"]

    def get_readonly_fields(self, request, obj=None):
        shown = ["member_list", "namespace_list", "binding_list", "created"]
        # Names are referenced by robot accounts, pull secrets and audit history (as on the page).
        return shown if obj is None else ["name", *shown]

    @admin.display(description=_("Members"))
    def member_list(self, workspace):
        if workspace.pk is None:
            return "-"
        memberships = workspace.memberships.select_related("user").order_by("user__username")
        return _links(
            self.admin_site,
            "workspaces_membership_change",
            ((m.pk, f"{m.user.get_username()} ({m.get_role_display()})") for m in memberships),
        )

    @admin.display(description=_("Namespaces"))
    def namespace_list(self, workspace):
        if workspace.pk is None:
            return "-"
        return _links(
            self.admin_site,
            "workspaces_namespace_change",
            ((ns.pk, str(ns)) for ns in workspace.namespaces.select_related("cluster")),
        )

    @admin.display(description=_("Bound registry spaces"))
    def binding_list(self, workspace):
        if workspace.pk is None:
            return "-"
        bindings = workspace.space_bindings.select_related("space__registry")
        return _links(
            self.admin_site,
            "registries_spacebinding_change",
            ((binding.pk, str(binding.space)) for binding in bindings),
        )

    def service_add(self, request, form):
        return services.create_workspace(
            request.user, name=form.cleaned_data["name"], description=form.cleaned_data["description"]
        )

    def service_change(self, request, original, form):
        return services.update_workspace(original, request.user, description=form.cleaned_data["description"])

    def service_delete(self, request, obj):
        services.delete_workspace(obj, request.user)


@admin.register(Membership)
class MembershipAdmin(RoutedAdmin):
    """Add, role change and removal as on the Members page, last-Workspace-Admin rule included."""

    list_display = ["user", "workspace", "role", "created"]
    list_filter = ["role"]
    search_fields = ["user__username", "workspace__name"]
    autocomplete_fields = ["user", "workspace"]
    list_select_related = ["user", "workspace"]
    fields = ["user", "workspace", "role", "created"]

    def get_readonly_fields(self, request, obj=None):
        return ["created"] if obj is None else ["user", "workspace", "created"]

    def service_add(self, request, form):
        data = form.cleaned_data
        return services.add_member(data["workspace"], request.user, user=data["user"], role=data["role"])

    def service_change(self, request, original, form):
        return services.change_role(original, request.user, form.cleaned_data["role"])

    def service_delete(self, request, obj):
        services.remove_member(obj, request.user)


@admin.register(Cluster)
class ClusterAdmin(RoutedAdmin):
    """Created here as on the Namespaces page; never renamed or deleted (namespaces hang off it)."""

    list_display = ["name", "description", "created"]
    search_fields = ["name"]
    fields = ["name", "description", "created"]
    readonly_fields = ["created"]

    def service_add(self, request, form):
        return services.create_cluster(
            request.user, name=form.cleaned_data["name"], description=form.cleaned_data["description"]
        )


@admin.register(Namespace)
class NamespaceAdmin(RoutedAdmin):
    """Binding to a workspace as on the namespace's page: one workspace at a time, audited."""

    list_display = ["name", "cluster", "workspace", "created"]
    list_filter = ["cluster", ("workspace", admin.EmptyFieldListFilter)]
    search_fields = ["name", "cluster__name", "workspace__name"]
    autocomplete_fields = ["workspace"]
    list_select_related = ["cluster", "workspace"]
    fields = ["cluster", "name", "workspace", "created"]

    def get_readonly_fields(self, request, obj=None):
        return ["created"] if obj is None else ["cluster", "name", "created"]

    def service_add(self, request, form):
        data = form.cleaned_data
        return services.create_namespace(
            request.user, cluster=data["cluster"], name=data["name"], workspace=data["workspace"]
        )

    def service_change(self, request, original, form):
        return services.bind_namespace(original, request.user, form.cleaned_data["workspace"])

    def service_delete(self, request, obj):
        services.delete_namespace(obj, request.user)

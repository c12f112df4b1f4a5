"""Registries in Django admin: writes through registries.services (see portal/admin_site.py)."""

from functools import partial

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from portal.admin_site import ReadOnlyAdmin, RoutedAdmin
from registries import services
from registries.forms import RegistryForm, WorkspaceRegistryForm
from registries.models import (
    PullCredential,
    Registry,
    RegistrySpace,
    Repository,
    SpaceBinding,
    SyncRun,
    Tag,
    TokenSigningKey,
)
from registries.tasks import enqueue_sync

# The page's heading for a refused save (templates/registries/registry_form.html).
CONNECTION_FAILED = _("The connection check failed; nothing was saved.")


class RegistryAdminForm(RegistryForm):
    """The page's form, plus the scope a new registry gets (fixed afterwards, as on the pages)."""

    class Meta(RegistryForm.Meta):
        fields = [*RegistryForm.Meta.fields, "scope", "workspace"]


@admin.register(Registry)
class RegistryAdmin(RoutedAdmin):
    """Saved by the page's own form: the same validation, connection check and audit event."""

    form = RegistryAdminForm
    list_display = ["name", "kind", "url", "scope", "workspace", "status", "last_sync", "is_demo"]
    list_filter = ["kind", "scope", "status", "is_demo"]
    search_fields = ["name", "url", "workspace__name"]
    list_select_related = ["workspace"]
    connection_fields = [
        "kind",
        "name",
        "url",
        "username",
        "password",
        "verify_tls",
        "ca_bundle",
        "token_service",
    ]
    status_fields = [
        "token_service_id",
        "is_demo",
        "status",
        "status_message",
        "status_changed",
        "last_sync",
        "last_sync_error",
        "created",
        "updated",
    ]

    @method_decorator(sensitive_post_parameters("password"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": self.connection_fields}),
            (_("Scope"), {"fields": ["scope", "workspace"]}),
        ]
        if obj is not None:
            fieldsets.append((_("Status (kept by sync)"), {"fields": self.status_fields}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["scope", "workspace", *self.status_fields]

    def service_add(self, request, form):
        registry = self._save_with_page_form(request, form, None)
        transaction.on_commit(partial(enqueue_sync, registry))
        return registry

    def service_change(self, request, original, form):
        return self._save_with_page_form(request, form, original)

    def _save_with_page_form(self, request, form, original):
        scope = original.scope if original else form.cleaned_data["scope"]
        page_form_class = WorkspaceRegistryForm if scope == Registry.Scope.WORKSPACE else RegistryForm
        page_form = page_form_class(form.data, instance=original)
        if not page_form.is_valid():
            raise ValidationError(page_form.errors.as_data())
        extra = {} if original else {"scope": scope, "workspace": form.cleaned_data.get("workspace")}
        registry = page_form.save_checked(request.user, **extra)
        if registry is None:
            raise ValidationError([CONNECTION_FAILED, *page_form.non_field_errors()])
        return registry

    def service_delete(self, request, obj):
        services.remove_registry(obj, request.user)


@admin.register(RegistrySpace)
class RegistrySpaceAdmin(RoutedAdmin):
    """Only the visibility changes here (through the registry); spaces come from sync."""

    list_display = ["name", "registry", "visibility", "missing", "repository_count", "upstream_created"]
    list_filter = ["visibility", "missing", "registry"]
    search_fields = ["name", "registry__name"]
    list_select_related = ["registry"]
    fields = [
        "registry",
        "name",
        "visibility",
        "bound_workspaces",
        "upstream_id",
        "missing",
        "repository_count",
        "upstream_created",
        "created",
        "updated",
    ]

    def get_readonly_fields(self, request, obj=None):
        return [name for name in self.fields if name != "visibility"]

    def has_change_permission(self, request, obj=None):
        # Visibility means nothing for a workspace registry's spaces (the access rule).
        return super().has_change_permission(request, obj) and (
            obj is None or obj.registry.scope == Registry.Scope.PLATFORM
        )

    @admin.display(description=_("Bound workspaces"))
    def bound_workspaces(self, space):
        name = self.admin_site.name
        bindings = space.bindings.select_related("workspace").order_by("workspace__name")
        listed = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse(f"{name}:registries_spacebinding_change", args=[binding.pk]), binding.workspace.name)
                for binding in bindings
            ),
        )
        if space.registry.scope != Registry.Scope.PLATFORM:
            return listed or "-"
        add = reverse(f"{name}:registries_spacebinding_add") + f"?space={space.pk}"
        return format_html('{} · <a href="{}">{}</a>', listed or "-", add, gettext("Bind a workspace"))

    def service_change(self, request, original, form):
        return services.set_visibility(original, request.user, form.cleaned_data["visibility"])

    def service_delete(self, request, obj):
        services.delete_space(obj, request.user)


class SpaceBindingForm(forms.ModelForm):
    class Meta:
        model = SpaceBinding
        fields = ["space", "workspace", "expires"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "space" in self.fields:
            self.fields["space"].queryset = RegistrySpace.objects.filter(
                registry__scope=Registry.Scope.PLATFORM
            ).select_related("registry")


@admin.register(SpaceBinding)
class SpaceBindingAdmin(RoutedAdmin):
    """Add binds, delete unbinds: the same diff under the space's row lock as the dialog."""

    form = SpaceBindingForm
    list_display = ["space", "workspace", "created_by", "created", "expires"]
    search_fields = ["space__name", "workspace__name"]
    list_filter = ["space__registry"]
    autocomplete_fields = ["space", "workspace"]
    list_select_related = ["space__registry", "workspace", "created_by"]

    def get_fields(self, request, obj=None):
        return (
            ["space", "workspace", "expires"]
            if obj is None
            else ["space", "workspace", "created_by", "created", "expires"]
        )

    def service_add(self, request, form):
        space, workspace = form.cleaned_data["space"], form.cleaned_data["workspace"]
        expires = form.cleaned_data.get("expires")
        change = services.change_bindings(
            space, request.user, add=[workspace], expires={workspace: expires} if expires else None
        )
        if not change.added:
            raise services.ServiceError(gettext("This space is already bound to that workspace."))
        return SpaceBinding.objects.get(space=space, workspace=workspace)

    def service_delete(self, request, obj):
        services.change_bindings(obj.space, request.user, remove=[obj.workspace])


# Derived data: written by sync, the robots and the token service only ------------------------


@admin.register(Repository)
class RepositoryAdmin(ReadOnlyAdmin):
    list_display = ["name", "space", "tag_count", "pull_count", "last_push"]
    list_filter = ["space__registry"]
    search_fields = ["name"]
    list_select_related = ["space__registry"]


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ["name", "repository", "digest", "size", "pushed"]
    search_fields = ["name", "digest", "repository__name"]
    list_select_related = ["repository"]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["registry", "result", "started", "finished", "spaces", "repositories", "tags", "requests"]
    list_filter = ["result", "registry"]


@admin.register(PullCredential)
class PullCredentialAdmin(ReadOnlyAdmin):
    # Neither the secret (encrypted) nor its hash: pull secrets are fetched on the pages.
    fields = [
        "workspace",
        "registry",
        "username",
        "upstream_id",
        "granted",
        "state",
        "error",
        "attempts",
        "reconciled",
        "previous_username",
        "previous_valid_until",
        "created",
        "updated",
    ]
    list_display = ["workspace", "registry", "username", "state", "reconciled"]
    list_filter = ["state", "registry"]
    search_fields = ["workspace__name", "registry__name", "username"]
    list_select_related = ["workspace", "registry"]


@admin.register(TokenSigningKey)
class TokenSigningKeyAdmin(ReadOnlyAdmin):
    # The certificate is public; the private key (encrypted) is not shown.
    fields = ["registry", "certificate_pem", "created", "retired"]
    list_display = ["__str__", "registry", "created", "retired"]

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, SyncRun, Tag


class RegistryAdminForm(forms.ModelForm):
    # Write-only: the stored password is never sent back to the browser.
    new_password = forms.CharField(
        label=_("Password"), required=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave blank to keep the current password."),
    )

    class Meta:
        model = Registry
        fields = ["name", "kind", "url", "username", "verify_tls", "ca_bundle", "scope", "workspace",
                  "is_demo", "status", "status_message", "last_sync_error"]

    def save(self, commit=True):
        registry = super().save(commit=False)
        if self.cleaned_data.get("new_password"):
            registry.set_password(self.cleaned_data["new_password"])
        if commit:
            registry.save()
        return registry


@admin.register(Registry)
class RegistryAdmin(admin.ModelAdmin):
    form = RegistryAdminForm
    list_display = ["name", "kind", "url", "scope", "workspace", "status", "last_sync", "is_demo"]
    list_filter = ["kind", "scope", "status", "is_demo"]
    search_fields = ["name", "url", "workspace__name"]
    readonly_fields = ["status_changed", "last_sync", "created", "updated"]
    list_select_related = ["workspace"]


class SpaceBindingInline(admin.TabularInline):
    model = SpaceBinding
    extra = 0
    autocomplete_fields = ["workspace"]
    readonly_fields = ["created_by", "created"]


@admin.register(RegistrySpace)
class RegistrySpaceAdmin(admin.ModelAdmin):
    list_display = ["name", "registry", "visibility", "missing", "repository_count", "upstream_created"]
    list_filter = ["visibility", "missing", "registry"]
    search_fields = ["name", "registry__name"]
    list_select_related = ["registry"]
    inlines = [SpaceBindingInline]


@admin.register(SpaceBinding)
class SpaceBindingAdmin(admin.ModelAdmin):
    list_display = ["space", "workspace", "created_by", "created"]
    search_fields = ["space__name", "workspace__name"]
    list_filter = ["space__registry"]
    autocomplete_fields = ["workspace"]
    raw_id_fields = ["space"]
    list_select_related = ["space__registry", "workspace", "created_by"]


class TagInline(admin.TabularInline):
    model = Tag
    extra = 0


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["name", "space", "tag_count", "pull_count", "last_push"]
    list_filter = ["space__registry"]
    search_fields = ["name"]
    raw_id_fields = ["space"]
    list_select_related = ["space__registry"]
    inlines = [TagInline]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "repository", "digest", "size", "pushed"]
    search_fields = ["name", "digest", "repository__name"]
    raw_id_fields = ["repository"]
    list_select_related = ["repository"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["registry", "result", "started", "finished", "spaces", "repositories", "tags",
                    "requests"]
    list_filter = ["result", "registry"]
    readonly_fields = [field.name for field in SyncRun._meta.fields]

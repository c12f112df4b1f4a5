from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.forms import AdminPasswordChangeForm, SetUnusablePasswordMixin, UsernameField
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from portal import services
from portal.admin_site import ReadOnlyAdmin, RoutedAdmin
from portal.models import ApiToken, AuditEvent

User = get_user_model()


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log is evidence: it is read here, never edited."""

    list_display = ["created", "actor_name", "action", "target_type", "target_label", "request_id"]
    list_filter = ["action", "target_type", "created"]
    search_fields = ["actor_name", "action", "target_label", "target_id", "request_id"]
    date_hierarchy = "created"


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    # The key's hash stays out: the prefix is enough to recognise a token.
    fields = ["user", "name", "key_prefix", "created", "last_used", "expires"]
    list_display = ["name", "user", "key_prefix", "created", "last_used", "expires"]
    search_fields = ["name", "user__username", "key_prefix"]
    list_select_related = ["user"]


# Accounts ---------------------------------------------------------------------------------

admin.site.unregister(User)
admin.site.unregister(Group)


class UserChangeForm(forms.ModelForm):
    """The account's profile and roles; the password has its own page ("Set a new password")."""

    class Meta:
        model = User
        fields = list(services.PROFILE_FIELDS) + ["groups"]
        field_classes = {"username": UsernameField}
        help_texts = {
            "groups": _("Members of the group Admin are platform Admins."),
        }


class NoSavePasswordForm(AdminPasswordChangeForm):
    # Django joins its help text to an English string when it is imported, so the text would
    # stay English on a Chinese page; this joins it when the page is shown, in its language.
    usable_password_help_text = format_lazy(
        '{}<ul id="id_unusable_warning" class="messagelist"><li class="warning">{}</li></ul>',
        SetUnusablePasswordMixin.usable_password_help_text,
        _("If disabled, the current password for this user will be lost."),
    )

    def save(self, commit=True):
        # Passwords are set by portal.services.set_password, with its audit event.
        raise PermissionDenied


@admin.register(User)
class UserAdmin(RoutedAdmin, auth_admin.UserAdmin):
    form = UserChangeForm
    change_password_form = NoSavePasswordForm
    fieldsets = (
        (None, {"fields": ("username", "password_setting")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Roles"), {"fields": ("is_active", "is_superuser", "groups", "workspace_roles")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ["password_setting", "workspace_roles", "last_login", "date_joined"]
    list_display = ["username", "email", "first_name", "last_name", "is_active", "is_superuser"]
    list_filter = ["is_active", "is_superuser", "groups"]
    filter_horizontal = ["groups"]

    @admin.display(description=_("Password"))
    def password_setting(self, user):
        # Whether a password is set, never any part of its hash.
        state = gettext("Set") if user.has_usable_password() else gettext("Not set (no password sign-in)")
        url = reverse(f"{self.admin_site.name}:auth_user_password_change", args=[user.pk])
        return format_html('{} · <a href="{}">{}</a>', state, url, gettext("Set a new password"))

    @admin.display(description=_("Workspace roles"))
    def workspace_roles(self, user):
        memberships = user.memberships.select_related("workspace").order_by("workspace__name")
        return (
            format_html_join(
                ", ",
                '<a href="{}">{} ({})</a>',
                (
                    (
                        reverse(f"{self.admin_site.name}:workspaces_membership_change", args=[m.pk]),
                        m.workspace.name,
                        m.get_role_display(),
                    )
                    for m in memberships
                ),
            )
            or "-"
        )

    def service_add(self, request, form):
        data = form.cleaned_data
        password = data.get("password1") if data.get("set_usable_password", True) else None
        return services.create_user(request.user, username=data["username"], password=password or None)

    def service_change(self, request, original, form):
        data = form.cleaned_data
        return services.update_user(
            original,
            request.user,
            groups=data["groups"],
            **{name: data[name] for name in services.PROFILE_FIELDS},
        )

    def service_delete(self, request, obj):
        services.delete_user(obj, request.user)

    @method_decorator(sensitive_post_parameters())
    def user_change_password(self, request, id, form_url=""):
        if request.method != "POST":
            return super().user_change_password(request, id, form_url)
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        form = self.change_password_form(user, request.POST)
        if not form.is_valid():
            # Shows the form's errors; an invalid form is never saved.
            return super().user_change_password(request, id, form_url)
        if form.cleaned_data["set_usable_password"]:
            raw = form.cleaned_data["password1"]
        elif "unset-password" in request.POST:
            raw = None
        else:
            messages.error(request, gettext("Conflicting form data submitted. Please try again."))
            return redirect(request.get_full_path())
        user = services.set_password(user, request.user, raw)
        if user.pk == request.user.pk:
            update_session_auth_hash(request, user)
        messages.success(
            request,
            gettext("Password changed successfully.")
            if raw
            else gettext("Password-based authentication was disabled."),
        )
        return redirect(reverse(f"{self.admin_site.name}:auth_user_change", args=[user.pk]))


@admin.register(Group)
class GroupAdmin(ReadOnlyAdmin):
    """Roles come from membership of the Admin group, set on each user's page."""

    fields = ["name", "members"]
    readonly_fields = ["members"]
    search_fields = ["name"]

    @admin.display(description=_("Members"))
    def members(self, group):
        return ", ".join(group.user_set.order_by("username").values_list("username", flat=True)) or "-"


# Background tasks -------------------------------------------------------------------------

admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class TaskResultAdmin(ReadOnlyAdmin, DBTaskResultAdmin):
    # task_path, not task_name: the name resolves the task against the configured backend,
    # which fails for rows another backend wrote.
    list_display = [
        "id",
        "task_path",
        "status",
        "enqueued_at",
        "started_at",
        "finished_at",
        "priority",
        "queue_name",
    ]

    # A task's arguments can carry a registry's connection (password encrypted): not shown.
    def get_readonly_fields(self, request, obj=None):
        return [name for name in super().get_readonly_fields(request, obj) if name != "args_kwargs"]

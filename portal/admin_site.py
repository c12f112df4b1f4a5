"""Django admin as a data-fix tool that keeps every guarantee of the pages and the API.

Only platform Admins (the ``Admin`` group or superusers, ``portal.permissions.is_admin``) reach
it; Django's ``is_staff`` flag and per-model permissions play no part.

Every ModelAdmin of the site derives from one of two bases:

- ``ReadOnlyAdmin``: derived data and evidence (repositories, tags, sync runs, pull
  credentials, signing keys, API tokens, audit events). Shown, never changed here.
- ``RoutedAdmin``: a model whose changes have service functions. Each write the admin offers
  is a ``service_add`` / ``service_change`` / ``service_delete`` method that calls them
  (connection check, row locks, robot updates, audit events); the add, change or delete
  permission exists only where that method does, and Django's own save and delete paths
  are closed.

Bulk delete is off site-wide, and no admin uses inlines or ``list_editable`` for writes.
``portal/tests/test_admin.py`` walks ``admin.site._registry`` and enforces all of this, so a
model registered later cannot write around the services.
"""

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.errors import ServiceError
from portal.permissions import is_admin

OPERATIONS = ("add", "change", "delete")


class WharfAdminLoginForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _(
            "Please enter the username and password of a platform Admin. Both fields may be case-sensitive."
        ),
    }

    def confirm_login_allowed(self, user):
        # The Admin rule, not is_staff: a staff flag alone opens nothing here.
        if not user.is_active or not is_admin(user):
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login")


class WharfAdminSite(admin.AdminSite):
    site_header = _("Wharf administration")
    site_title = _("Wharf admin")
    index_title = _("Data fixes")
    login_form = WharfAdminLoginForm

    def __init__(self, name="admin"):
        super().__init__(name)
        # Bulk delete calls Model.delete() on a queryset, around every service.
        self.disable_action("delete_selected")

    def has_permission(self, request):
        return request.user.is_active and is_admin(request.user)

    def password_change(self, request, extra_context=None):
        # One place sets passwords, with its audit event: the user's own "Set a new password".
        if not self.has_permission(request):
            raise PermissionDenied
        return redirect(reverse(f"{self.name}:auth_user_password_change", args=[request.user.pk]))


class WharfModelAdmin(admin.ModelAdmin):
    """Visible to platform Admins; writes nothing unless a subclass routes it."""

    save_as = False

    def has_module_permission(self, request):
        return is_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        raise PermissionDenied

    def save_related(self, request, form, formsets, change):
        raise PermissionDenied

    def delete_model(self, request, obj):
        raise PermissionDenied

    def delete_queryset(self, request, queryset):
        raise PermissionDenied


class ReadOnlyAdmin(WharfModelAdmin):
    """Derived data and evidence: read here, changed only by sync, the services or commands."""


def _error_field(form, field):
    return field if field and field in form.fields and not form.fields[field].disabled else None


class RoutedAdmin(WharfModelAdmin):
    """Writes only through the service functions, in the methods below.

    ``service_add(request, form)`` and ``service_change(request, original, form)`` run when the
    form is otherwise valid and return the saved object; ``original`` is fresh from the
    database (the form's instance already holds the submitted values).
    ``service_delete(request, obj)`` deletes. A ``ServiceError`` or ``ValidationError`` they
    raise is shown on the form (or as a message for a delete) and nothing is saved.
    """

    def service_add(self, request, form):
        raise NotImplementedError

    def service_change(self, request, original, form):
        raise NotImplementedError

    def service_delete(self, request, obj):
        raise NotImplementedError

    @classmethod
    def routes(cls, operation: str) -> bool:
        """Whether this admin has a service method for ``operation`` (add, change, delete)."""
        return getattr(cls, f"service_{operation}") is not getattr(RoutedAdmin, f"service_{operation}")

    def has_add_permission(self, request):
        return is_admin(request.user) and self.routes("add")

    def has_change_permission(self, request, obj=None):
        return is_admin(request.user) and self.routes("change")

    def has_delete_permission(self, request, obj=None):
        return is_admin(request.user) and self.routes("delete")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class RoutedForm(form_class):
            def full_clean(self):
                super().full_clean()
                if self.is_bound and not self._errors:
                    model_admin._apply(request, self)

        RoutedForm.__name__ = form_class.__name__
        return RoutedForm

    def _apply(self, request, form):
        original = None
        if form.instance.pk is not None:
            original = self.model._default_manager.get(pk=form.instance.pk)
        try:
            # A savepoint: a refusal after a partial write leaves nothing behind.
            with transaction.atomic():
                if original is None:
                    saved = self.service_add(request, form)
                else:
                    saved = self.service_change(request, original, form)
        except ServiceError as error:
            form.add_error(_error_field(form, error.field), error.message)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            form.instance = saved

    def save_model(self, request, obj, form, change):
        # The service saved it while the form was validated (RoutedForm.full_clean).
        if obj.pk is None:
            raise RuntimeError("a routed admin form was saved without its service")

    def save_related(self, request, form, formsets, change):
        pass

    def delete_model(self, request, obj):
        self.service_delete(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.service_delete(request, obj)

    def get_deleted_objects(self, objs, request):
        # The service decides what goes with the object; Django's per-model delete
        # permissions of the cascade (read-only admins say no) do not apply to it.
        deleted, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, model_count, set(), protected

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceError as error:
            # Raised inside delete_view's transaction: it rolled back, admin log entry included.
            self.message_user(request, error.message, messages.ERROR)
            opts = self.model._meta
            return redirect(
                reverse(
                    f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                    args=[unquote(object_id)],
                )
            )

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self):
        # Connect receivers: the lockout's audit events, the stored language at sign-in.
        from portal import languages, lockout  # noqa: F401


class WharfAdminConfig(admin_apps.AdminConfig):
    """Django admin with Wharf's site: platform Admins only, writes through the services."""

    default = False
    default_site = "portal.admin_site.WharfAdminSite"

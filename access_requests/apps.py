from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessRequestsConfig(AppConfig):
    name = "access_requests"
    verbose_name = _("Access requests")

    def ready(self):
        # Connects close_satisfied to registries.services.space_opened.
        from access_requests import services  # noqa: F401

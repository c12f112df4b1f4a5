from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistriesConfig(AppConfig):
    name = "registries"
    verbose_name = _("Container Registry")

    def ready(self):
        # Registers the tasks robots, login_commands and services queue (registries.background).
        from registries import tasks  # noqa: F401

"""Harbor: projects are spaces, made and switched public/private in Harbor itself; workspaces
pull with robot accounts Wharf keeps (registries/robots.py through HarborClient's robot calls);
Harbor scans images, counts pulls and has its own web UI."""

from django.utils.translation import gettext_lazy as _

from registries.kinds.base import ROBOT_ACCOUNTS, RegistryKind
from registries.kinds.harbor.client import HarborClient


class Harbor(RegistryKind):
    name = "harbor"
    label = _("Harbor")
    client_class = HarborClient
    creates_spaces = True
    creates_spaces_upstream = True
    owns_visibility_upstream = True
    pull_credentials = ROBOT_ACCOUNTS
    scanning = True
    pull_count = True
    native_ui = True

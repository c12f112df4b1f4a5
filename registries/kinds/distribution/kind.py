"""Docker Registry (distribution): no projects, no accounts, no visibility. A space is the first
segment of repository names (``library`` for names without one) and only recorded in Wharf;
public/private is Wharf's own, enforced once the registry sends its clients to Wharf's token
service, which then also issues the workspaces' pull credentials (registries/tokens.py)."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from registries.kinds.base import TOKEN_SERVICE, RegistryKind
from registries.kinds.distribution.client import DistributionClient


class Distribution(RegistryKind):
    name = "distribution"
    label = _("Docker Registry")
    client_class = DistributionClient
    creates_spaces = True
    unprefixed_space = "library"
    pull_credentials = TOKEN_SERVICE

    def notices(self, registry) -> dict[str, str]:
        notices = {
            "space_create": gettext(
                "A Docker Registry has no projects: the space is recorded in Wharf and fills when images "
                "are pushed under its name."
            )
        }
        if not registry.token_service:
            notices["registry"] = gettext(
                "A Docker Registry has no access control of its own: until it uses Wharf's token "
                "service, every space in it is effectively public."
            )
            notices["spaces"] = gettext(
                "A Docker Registry has no projects: its spaces appear when images are pushed, and "
                "Create registry space only records one in Wharf. Type is Wharf's own and is enforced "
                "once the registry uses Wharf's token service; until then every space of this registry "
                "is effectively public."
            )
        return notices

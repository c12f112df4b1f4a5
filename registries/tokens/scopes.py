"""The ``scope`` parameters of a token request: what a client asks for, parsed and checked
before anything else is looked at (``resourcetype[(class)]:name:action[,action...]``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from registries.clients.base import REPOSITORY_NAME
from registries.tokens.errors import InvalidRequest

# A request naming more scopes than this is refused rather than answered slowly.
MAX_SCOPES = 100
MAX_NAME = 255

PULL, PUSH = "pull", "push"
CATALOG = ("registry", "catalog")

# resourcetype[(class)]:name:action[,action...]; the name may itself hold ':' (host:port/...),
# so the actions are what follows the last one.
_SCOPE = re.compile(
    r"(?P<type>[a-z0-9]+)(?:\((?P<cls>[a-z0-9]+)\))?:(?P<name>[^\s:][^\s]*):"
    r"(?P<actions>[a-z*][a-z0-9*_-]*(?:,[a-z*][a-z0-9*_-]*)*)"
)
# A repository name, optionally behind the registry's own host[:port] as the grammar allows. As
# in Docker's references, a first component is a host only with a dot, a port, or "localhost".
_HOST = r"(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::[0-9]+)?|[A-Za-z0-9-]+:[0-9]+"
_REPOSITORY = re.compile(rf"(?:(?:{_HOST})/)?{REPOSITORY_NAME.pattern}")
_OTHER_NAME = re.compile(r"[A-Za-z0-9._/-]+|\*")


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]
    resource_class: str = ""

    def __str__(self):
        kind = f"{self.type}({self.resource_class})" if self.resource_class else self.type
        return f"{kind}:{self.name}:{','.join(self.actions)}"


def _parse_scope(item: str) -> re.Match[str]:
    """One scope's parts, its resource name checked against its type's grammar."""
    match = _SCOPE.fullmatch(item)
    if match is None:
        raise InvalidRequest(
            _("Malformed scope %(scope)r: expected type:name:actions.") % {"scope": item[:300]}
        )
    pattern = _REPOSITORY if match["type"] == "repository" else _OTHER_NAME
    if len(match["name"]) > MAX_NAME or not pattern.fullmatch(match["name"]):
        raise InvalidRequest(_("Malformed scope %(scope)r: invalid resource name.") % {"scope": item[:300]})
    return match


def parse_scopes(values: list[str]) -> list[Scope]:
    """Parse the ``scope`` parameters (each may hold several, space-separated, as old clients
    send them). A malformed scope refuses the request (InvalidRequest); a well-formed scope of a
    type or with actions Wharf does not know is kept, and simply granted nothing. Repeated
    resources are merged."""
    merged: dict[tuple[str, str, str], list[str]] = {}
    for value in values:
        for item in value.split():
            match = _parse_scope(item)
            actions = merged.setdefault((match["type"], match["cls"] or "", match["name"]), [])
            actions.extend(action for action in match["actions"].split(",") if action not in actions)
            if len(merged) > MAX_SCOPES:
                raise InvalidRequest(
                    _("At most %(max)d scopes can be asked for at once.") % {"max": MAX_SCOPES}
                )
    return [Scope(kind, name, tuple(actions), cls) for (kind, cls, name), actions in merged.items()]

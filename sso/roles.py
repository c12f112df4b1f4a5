"""Roles named by the provider's group claim.

``WHARF_OIDC_ADMIN_GROUP`` makes a platform Admin; groups matching
``WHARF_OIDC_WORKSPACE_GROUP_PATTERN`` (default ``wharf:{workspace}:{role}``) grant workspace
roles. Everything else in the claim is ignored.
"""

from dataclasses import dataclass, field

from django.conf import settings

from sso.conf import ROLES_STRONGEST_FIRST, workspace_group_regex
from sso.errors import ClaimsRefused


@dataclass(frozen=True)
class ClaimedRoles:
    admin: bool = False
    # workspace name -> role; the strongest role when several groups name the same workspace.
    workspaces: dict[str, str] = field(default_factory=dict)


def group_names(claims: dict) -> list[str]:
    name = settings.WHARF_OIDC_GROUPS_CLAIM
    if name not in claims:
        raise ClaimsRefused(f"the {name!r} claim is missing (claims present: {', '.join(sorted(claims))})")
    value = claims[name]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ClaimsRefused(f"the {name!r} claim is not a list of group names: {type(value).__name__}")
    # Keycloak's group mapper sends "/group" when "Full group path" is on; the name is the same.
    return [item[1:] if item.startswith("/") else item for item in value]


def roles_from_claims(claims: dict) -> ClaimedRoles:
    groups = group_names(claims)
    pattern = workspace_group_regex(settings.WHARF_OIDC_WORKSPACE_GROUP_PATTERN)
    admin_group = settings.WHARF_OIDC_ADMIN_GROUP
    workspaces: dict[str, str] = {}
    for group in groups:
        match = pattern.fullmatch(group)
        if match is None:
            continue
        workspace, role = match["workspace"], match["role"]
        current = workspaces.get(workspace)
        if current is None or ROLES_STRONGEST_FIRST.index(role) < ROLES_STRONGEST_FIRST.index(current):
            workspaces[workspace] = role
    return ClaimedRoles(admin=bool(admin_group) and admin_group in groups, workspaces=workspaces)

"""The Audit Log in words: one sentence per action code, targets as links, before/after as a diff.

Every action that ``audit.record`` writes has its entry in ACTIONS (a test scans the code for
action codes and fails on one missing here). The codes stay what the API and the database
hold; pages show only these sentences.

Links: only to objects that still exist and that the viewer may open, found with one query per
kind of target on the page, however many events it lists.
"""

import re
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.permissions import can


@dataclass(frozen=True)
class Action:
    label: object  # what the filter lists: a lazy translation
    sentence: object  # placeholders: %(target)s, and any of %(workspace)s %(user)s %(role)s ...


# Placeholders other than %(target)s are read from the event's after (else before) data.
ACTIONS = {
    "registry.create": Action(
        gettext_lazy("Integrated a registry"), gettext_lazy("Integrated registry %(target)s")
    ),
    "registry.update": Action(
        gettext_lazy("Changed a registry"), gettext_lazy("Changed registry %(target)s")
    ),
    "registry.delete": Action(
        gettext_lazy("Removed a registry"), gettext_lazy("Removed registry %(target)s")
    ),
    "space.create": Action(
        gettext_lazy("Created a registry space"),
        gettext_lazy("Created registry space %(target)s (%(visibility)s)"),
    ),
    "space.visibility": Action(
        gettext_lazy("Made a registry space public or private"),
        gettext_lazy("Made registry space %(target)s %(visibility)s"),
    ),
    "space.delete": Action(
        gettext_lazy("Deleted a registry space"), gettext_lazy("Deleted registry space %(target)s")
    ),
    "space.bind": Action(
        gettext_lazy("Bound a workspace to a space"),
        gettext_lazy("Bound workspace %(workspace)s to space %(target)s"),
    ),
    "space.unbind": Action(
        gettext_lazy("Unbound a workspace from a space"),
        gettext_lazy("Unbound workspace %(workspace)s from space %(target)s"),
    ),
    "space.binding_expires": Action(
        gettext_lazy("Changed when a binding ends"),
        gettext_lazy("Changed when the binding of workspace %(workspace)s to space %(target)s ends"),
    ),
    "image.scan": Action(
        gettext_lazy("Asked for a vulnerability scan"), gettext_lazy("Asked the registry to scan %(target)s")
    ),
    "image.tag.delete": Action(gettext_lazy("Deleted a tag"), gettext_lazy("Deleted tag %(target)s")),
    "image.artifact.delete": Action(
        gettext_lazy("Deleted an image"), gettext_lazy("Deleted image %(target)s")
    ),
    "image.repository.delete": Action(
        gettext_lazy("Deleted a repository"), gettext_lazy("Deleted repository %(target)s")
    ),
    "login_command.create": Action(
        gettext_lazy("Generated a login command"), gettext_lazy("Generated login command %(target)s")
    ),
    "login_command.revoke": Action(
        gettext_lazy("Revoked a login command"), gettext_lazy("Revoked login command %(target)s")
    ),
    "access_request.create": Action(
        gettext_lazy("Requested a private registry space"), gettext_lazy("Requested access: %(target)s")
    ),
    "access_request.merge": Action(
        gettext_lazy("Repeated an access request"), gettext_lazy("Repeated access request %(target)s")
    ),
    "access_request.approve": Action(
        gettext_lazy("Approved an access request"), gettext_lazy("Approved access request %(target)s")
    ),
    "access_request.decline": Action(
        gettext_lazy("Declined an access request"), gettext_lazy("Declined access request %(target)s")
    ),
    "access_request.close": Action(
        gettext_lazy("Closed an access request"), gettext_lazy("Closed access request %(target)s")
    ),
    "workspace.create": Action(
        gettext_lazy("Created a workspace"), gettext_lazy("Created workspace %(target)s")
    ),
    "workspace.update": Action(
        gettext_lazy("Changed a workspace"), gettext_lazy("Changed the description of workspace %(target)s")
    ),
    "workspace.delete": Action(
        gettext_lazy("Deleted a workspace"), gettext_lazy("Deleted workspace %(target)s")
    ),
    "workspace.rotate_pull_credentials": Action(
        gettext_lazy("Rotated a workspace's pull credentials"),
        gettext_lazy("Rotated the pull credentials of workspace %(target)s"),
    ),
    "membership.create": Action(
        gettext_lazy("Added a member"), gettext_lazy("Added %(user)s to workspace %(target)s as %(role)s")
    ),
    "membership.update": Action(
        gettext_lazy("Changed a member's role"),
        gettext_lazy("Changed the role of %(user)s in workspace %(target)s to %(role)s"),
    ),
    "membership.delete": Action(
        gettext_lazy("Removed a member"), gettext_lazy("Removed %(user)s from workspace %(target)s")
    ),
    "membership.sign_in_grant": Action(
        gettext_lazy("Single sign-on added a member"),
        gettext_lazy("Single sign-on added %(user)s to workspace %(target)s as %(role)s"),
    ),
    "membership.sign_in_change": Action(
        gettext_lazy("Single sign-on changed a member's role"),
        gettext_lazy("Single sign-on changed the role of %(user)s in workspace %(target)s to %(role)s"),
    ),
    "membership.sign_in_revoke": Action(
        gettext_lazy("Single sign-on removed a member"),
        gettext_lazy("Single sign-on removed %(user)s from workspace %(target)s"),
    ),
    "cluster.create": Action(gettext_lazy("Added a cluster"), gettext_lazy("Added cluster %(target)s")),
    "namespace.create": Action(gettext_lazy("Added a namespace"), gettext_lazy("Added namespace %(target)s")),
    "namespace.bind": Action(
        gettext_lazy("Bound a namespace to a workspace"),
        gettext_lazy("Bound namespace %(target)s to workspace %(workspace)s"),
    ),
    "namespace.unbind": Action(
        gettext_lazy("Unbound a namespace from its workspace"),
        gettext_lazy("Unbound namespace %(target)s from workspace %(workspace)s"),
    ),
    "namespace.delete": Action(
        gettext_lazy("Deleted a namespace"), gettext_lazy("Deleted namespace %(target)s")
    ),
    "namespace.pull_secret": Action(
        gettext_lazy("Downloaded a pull secret"),
        gettext_lazy("Downloaded the pull secret of namespace %(target)s"),
    ),
    "pull_credential.create": Action(
        gettext_lazy("Created a pull credential"), gettext_lazy("Created pull credential %(target)s")
    ),
    "pull_credential.rotate": Action(
        gettext_lazy("Rotated a pull credential"), gettext_lazy("Rotated pull credential %(target)s")
    ),
    "credential.retry": Action(
        gettext_lazy("Retried a Harbor robot account"),
        gettext_lazy("Retried the Harbor robot account of workspace %(target)s in %(registry)s"),
    ),
    "token_key.create": Action(
        gettext_lazy("Created a token signing key"), gettext_lazy("Created token signing key %(target)s")
    ),
    "token_key.rotate": Action(
        gettext_lazy("Rotated a token signing key"), gettext_lazy("Rotated to token signing key %(target)s")
    ),
    "user.create": Action(gettext_lazy("Created a user"), gettext_lazy("Created user %(target)s")),
    "user.update": Action(gettext_lazy("Changed a user"), gettext_lazy("Changed user %(target)s")),
    "user.password": Action(
        gettext_lazy("Set a user's password"), gettext_lazy("Set the password of user %(target)s")
    ),
    "user.delete": Action(gettext_lazy("Deleted a user"), gettext_lazy("Deleted user %(target)s")),
    "user.sign_in_create": Action(
        gettext_lazy("Single sign-on created a user"), gettext_lazy("Single sign-on created user %(target)s")
    ),
    "admin.sign_in_grant": Action(
        gettext_lazy("Single sign-on made a user Admin"),
        gettext_lazy("Single sign-on made %(target)s an Admin"),
    ),
    "admin.sign_in_revoke": Action(
        gettext_lazy("Single sign-on took Admin from a user"),
        gettext_lazy("Single sign-on took the Admin role from %(target)s"),
    ),
    "login.lockout": Action(
        gettext_lazy("Locked out sign-ins"), gettext_lazy("Locked out sign-ins of %(target)s")
    ),
    "api_token.create": Action(
        gettext_lazy("Created an API token"), gettext_lazy("Created API token %(target)s")
    ),
    "api_token.revoke": Action(
        gettext_lazy("Revoked an API token"), gettext_lazy("Revoked API token %(target)s")
    ),
}

# The readable names of before/after fields; others are shown with "_" as spaces.
FIELDS = {
    "name": gettext_lazy("Name"),
    "description": gettext_lazy("Description"),
    "workspace": gettext_lazy("Workspace"),
    "workspaces": gettext_lazy("Workspaces"),
    "visibility": gettext_lazy("Type"),
    "role": gettext_lazy("Role"),
    "user": gettext_lazy("User"),
    "url": gettext_lazy("Address"),
    "username": gettext_lazy("User name"),
    "kind": gettext_lazy("Kind"),
    "verify_tls": gettext_lazy("Verify TLS"),
    "ca_bundle": gettext_lazy("CA bundle"),
    "token_service": gettext_lazy("Uses Wharf's token service"),
    "scope": gettext_lazy("Scope"),
    "registry": gettext_lazy("Registry"),
    "registries": gettext_lazy("Registries"),
    "reason": gettext_lazy("Reason"),
    "password": gettext_lazy("Password"),
    "members": gettext_lazy("Members"),
    "spaces": gettext_lazy("Registry spaces"),
    "bindings": gettext_lazy("Bindings"),
    "cluster": gettext_lazy("Cluster"),
    "state": gettext_lazy("State"),
    "error": gettext_lazy("Error"),
    "by": gettext_lazy("By"),
    "email": gettext_lazy("Email"),
    "is_active": gettext_lazy("Active"),
    "is_admin": gettext_lazy("Admin"),
    "expires": gettext_lazy("Expires"),
    "prefix": gettext_lazy("Prefix"),
    "address": gettext_lazy("Address"),
    "failures": gettext_lazy("Failed sign-ins"),
    "limit": gettext_lazy("Limit"),
}
# Ids that only serve the links: not shown in the diff.
HIDDEN_FIELDS = {"workspace_id"}


def label(code: str) -> str:
    action = ACTIONS.get(code)
    return str(action.label) if action else _("Other change")


def choices() -> list[tuple[str, str]]:
    """The filter's actions: every known one, by its words."""
    return sorted(
        ((code, str(action.label)) for code, action in ACTIONS.items()), key=lambda choice: choice[1].lower()
    )


def codes_matching(words: str) -> list[str]:
    """Action codes whose words (in the current language) contain ``words``."""
    words = words.casefold()
    return [
        code
        for code, action in ACTIONS.items()
        if words in str(action.label).casefold() or words in str(action.sentence).casefold()
    ]


def _value(value) -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if isinstance(value, list | tuple):
        return ", ".join(_value(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_value(item)}" for key, item in value.items())
    return str(value)


def _field(name: str) -> str:
    return str(FIELDS.get(name, name.replace("_", " ")))


@dataclass
class Change:
    field: str
    before: str | None  # None: the field was not there before
    after: str | None  # None: the field is gone after


def diff(before: dict | None, after: dict | None) -> list[Change]:
    """Each field that was set, removed or changed, in a stable order."""
    before, after = before or {}, after or {}
    changes = []
    for key in list(dict.fromkeys([*before, *after])):
        if key in HIDDEN_FIELDS:
            continue
        old = _value(before[key]) if key in before else None
        new = _value(after[key]) if key in after else None
        if old != new:
            changes.append(Change(_field(key), old, new))
    return changes


# Links -----------------------------------------------------------------------------------


def _registries(user, ids):
    from registries.models import Registry
    from workspaces.models import Workspace

    visible = Q(scope=Registry.Scope.WORKSPACE, workspace__in=Workspace.objects.visible_to(user))
    if can(user, "manage_registries"):
        visible |= Q(scope=Registry.Scope.PLATFORM)
    return {
        str(registry.pk): reverse(
            "registries:detail"
            if registry.scope == Registry.Scope.PLATFORM
            else "registries:workspace-detail",
            args=[registry.pk],
        )
        for registry in Registry.objects.filter(visible, pk__in=ids).only("pk", "scope")
    }


def _spaces(user, ids):
    from registries.models import Registry, RegistrySpace

    if not can(user, "manage_registries"):
        return {}
    spaces = RegistrySpace.objects.filter(pk__in=ids, registry__scope=Registry.Scope.PLATFORM)
    return {
        str(pk): reverse("registries:spaces", args=[registry_id]) + "?" + _query(name)
        for pk, registry_id, name in spaces.values_list("pk", "registry_id", "name")
    }


def _query(name: str) -> str:
    from django.utils.http import urlencode

    return urlencode({"q": name})


def _workspaces(user, ids):
    from workspaces.models import Workspace

    return {
        str(pk): reverse("workspaces:detail", args=[pk])
        for pk in Workspace.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)
    }


def _namespaces(user, ids):
    from workspaces.models import Namespace

    return {
        str(pk): reverse("workspaces:namespace-detail", args=[pk])
        for pk in Namespace.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)
    }


LINKERS = {
    "registries.registry": _registries,
    "registries.registryspace": _spaces,
    "workspaces.workspace": _workspaces,
    "workspaces.namespace": _namespaces,
}


def _whole_ids(values) -> list[int]:
    return [int(value) for value in values if str(value).isdigit()]


def _link(url: str | None, text: str):
    return format_html('<a href="{}">{}</a>', url, text) if url else conditional_escape(text)


@dataclass
class Line:
    event: object
    sentence: str  # safe HTML
    changes: list[Change]


def describe(events, user) -> list[Line]:
    """The page's events as sentences with links; one query per kind of target linked."""
    events = list(events)
    wanted: dict[str, set] = {}
    for event in events:
        if event.target_type in LINKERS:
            wanted.setdefault(event.target_type, set()).add(event.target_id)
        workspace_id = (event.after or {}).get("workspace_id") or (event.before or {}).get("workspace_id")
        if workspace_id is not None:
            wanted.setdefault("workspaces.workspace", set()).add(str(workspace_id))
    links = {kind: LINKERS[kind](user, _whole_ids(ids)) for kind, ids in wanted.items()}
    lines = []
    for event in events:
        # The state after the change, where it says anything (an unbind names the workspace
        # only before it).
        data = {
            **(event.before or {}),
            **{key: value for key, value in (event.after or {}).items() if value is not None},
        }
        values = {key: conditional_escape(_value(value)) for key, value in data.items()}
        values["target"] = _link(links.get(event.target_type, {}).get(event.target_id), event.target_label)
        if "workspace_id" in data:
            values["workspace"] = _link(
                links.get("workspaces.workspace", {}).get(str(data["workspace_id"])),
                _value(data.get("workspace")),
            )
        if "visibility" in data:
            values["visibility"] = conditional_escape(_visibility(data["visibility"]))
        if "role" in data:
            values["role"] = conditional_escape(_role(data["role"]))
        action = ACTIONS.get(event.action)
        template = str(action.sentence) if action else _("Changed %(target)s")
        lines.append(Line(event, _sentence(template, values), diff(event.before, event.after)))
    return lines


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _sentence(template: str, values: dict):
    """The translated sentence with its placeholders filled (escaped by format_html); one the
    event's data lacks reads as a dash rather than failing the page."""
    names = _PLACEHOLDER.findall(template)
    braces = template.replace("{", "{{").replace("}", "}}")
    return format_html(_PLACEHOLDER.sub(r"{\1}", braces), **{name: values.get(name, "—") for name in names})


def _visibility(value) -> str:
    from registries.models import RegistrySpace

    try:
        return str(RegistrySpace.Visibility(value).label).lower()
    except ValueError:
        return str(value)


def _role(value) -> str:
    from workspaces.models import Membership

    choices = dict(Membership._meta.get_field("role").choices)
    return str(choices.get(value, value))

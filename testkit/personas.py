"""The standard users of Wharf's tests, one per role a page must treat differently.

A persona is named as its pytest fixture (``conftest.py``): the platform ``admin``; the
``ws_admin``, ``ws_editor`` and ``ws_viewer`` of the workspace ``payments``; the ``outsider``,
Workspace Admin of another workspace (``search``), who must not learn that ``payments``'s
objects exist; and the ``anonymous`` visitor, who is signed in as nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from testkit.factories import workspace_named

PASSWORD = "correct-horse-battery"

# The two workspaces the personas belong to.
WORKSPACE = "payments"
OTHER_WORKSPACE = "search"

ADMIN = "admin"
WS_ADMIN = "ws_admin"
WS_EDITOR = "ws_editor"
WS_VIEWER = "ws_viewer"
OUTSIDER = "outsider"
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Persona:
    username: str
    # The workspace the persona is a member of, and the role there.
    workspace: str | None = None
    role: str | None = None
    platform_admin: bool = False


PERSONAS = {
    ADMIN: Persona("root-admin", platform_admin=True),
    WS_ADMIN: Persona("ws-admin", WORKSPACE, "admin"),
    WS_EDITOR: Persona("ws-editor", WORKSPACE, "editor"),
    WS_VIEWER: Persona("ws-viewer", WORKSPACE, "viewer"),
    OUTSIDER: Persona("outsider", OTHER_WORKSPACE, "admin"),
}
# The members of ``payments``, and everyone signed in who is not its Workspace Admin.
MEMBERS = (WS_ADMIN, WS_EDITOR, WS_VIEWER)
EVERYONE = (ADMIN, *MEMBERS, OUTSIDER, ANONYMOUS)


def make_user(username, *, workspace=None, role=None, admin=False, password=PASSWORD):
    """A user who can log in with ``password``; a member of ``workspace`` with ``role``, a
    platform Admin with ``admin``."""
    from django.contrib.auth.models import Group, User

    from portal.roles import ADMIN_GROUP
    from workspaces.models import Membership

    user = User.objects.create_user(username, f"{username}@example.com", password)
    if admin:
        # get_or_create: transactional tests flush the group the migration made.
        user.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    if workspace is not None:
        Membership.objects.create(user=user, workspace=workspace, role=role)
    return user


def make_persona(name, workspace=None):
    """The persona ``name``'s user, a member of ``workspace`` (by default the persona's own
    workspace, made if missing)."""
    persona = PERSONAS[name]
    if persona.workspace is not None and workspace is None:
        workspace = workspace_named(persona.workspace)
    return make_user(
        persona.username,
        workspace=workspace if persona.workspace else None,
        role=persona.role,
        admin=persona.platform_admin,
    )


def user_for(name):
    """The persona's user: the one its fixture made, else a new one; None for ``anonymous``."""
    from django.contrib.auth.models import User

    if name == ANONYMOUS:
        return None
    persona = PERSONAS[name]
    return User.objects.filter(username=persona.username).first() or make_persona(name)

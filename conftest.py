"""The personas' fixtures, built with the test kit (``testkit/``), and the suite's plugins."""

import pytest

from testkit import factories, personas
from testkit.personas import PASSWORD, make_user  # noqa: F401  (tests import them from here too)

pytest_plugins = [
    "portal.tests.browser",
    "testkit.doubles",
    "sso.tests.oidc_provider",
]


@pytest.fixture
def workspace(db):
    return factories.make_workspace(personas.WORKSPACE)


@pytest.fixture
def other_workspace(db):
    return factories.make_workspace(personas.OTHER_WORKSPACE)


@pytest.fixture
def admin(db):
    return personas.make_persona(personas.ADMIN)


@pytest.fixture
def ws_admin(workspace):
    return personas.make_persona(personas.WS_ADMIN, workspace)


@pytest.fixture
def ws_editor(workspace):
    return personas.make_persona(personas.WS_EDITOR, workspace)


@pytest.fixture
def ws_viewer(workspace):
    return personas.make_persona(personas.WS_VIEWER, workspace)


@pytest.fixture
def outsider(other_workspace):
    return personas.make_persona(personas.OUTSIDER, other_workspace)


# What most registry tests start from: a demo Harbor (never contacted), one private space
# and three workspaces without members to bind it to.


@pytest.fixture
def registry(db):
    return factories.make_registry("harbor")


@pytest.fixture
def space(registry):
    return factories.make_space(registry, "vault")


@pytest.fixture
def teams(db):
    return factories.make_workspaces("alpha", "beta", "gamma")

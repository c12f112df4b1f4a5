import pytest
from django.contrib.auth.models import Group, User

from portal.permissions import ADMIN_GROUP
from workspaces.models import Membership, Workspace

pytest_plugins = [
    "portal.tests.browser",
    "registries.kinds.harbor.tests.harbor_double",
    "registries.tests.real_registry",
    "sso.tests.oidc_provider",
]

PASSWORD = "correct-horse-battery"


def make_user(username, *, workspace=None, role=None, admin=False):
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
    if admin:
        # get_or_create: transactional tests flush the group the migration made.
        user.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    if workspace is not None:
        Membership.objects.create(user=user, workspace=workspace, role=role)
    return user


@pytest.fixture
def workspace(db):
    return Workspace.objects.create(name="payments", description="Payments team")


@pytest.fixture
def other_workspace(db):
    return Workspace.objects.create(name="search", description="Search team")


@pytest.fixture
def admin(db):
    return make_user("root-admin", admin=True)


@pytest.fixture
def ws_admin(workspace):
    return make_user("ws-admin", workspace=workspace, role="admin")


@pytest.fixture
def ws_editor(workspace):
    return make_user("ws-editor", workspace=workspace, role="editor")


@pytest.fixture
def ws_viewer(workspace):
    return make_user("ws-viewer", workspace=workspace, role="viewer")


@pytest.fixture
def outsider(other_workspace):
    return make_user("outsider", workspace=other_workspace, role="admin")

import pytest

from portal.permissions import can, is_admin
from testkit.personas import ADMIN, OUTSIDER, WS_ADMIN, WS_EDITOR, WS_VIEWER, user_for


@pytest.mark.parametrize(
    "action", ["manage_registries", "bind_spaces", "bind_namespaces", "manage_workspaces", "view_audit_log"]
)
def test_platform_actions_are_admin_only(action, db):
    allowed = {
        persona: can(user_for(persona), action)
        for persona in (ADMIN, WS_ADMIN, WS_EDITOR, WS_VIEWER, OUTSIDER)
    }
    assert allowed == {ADMIN: True, WS_ADMIN: False, WS_EDITOR: False, WS_VIEWER: False, OUTSIDER: False}


def test_superuser_counts_as_admin(django_user_model, db):
    assert is_admin(django_user_model.objects.create_superuser("su", "su@example.com", "pw"))


EXPECTED = {
    # action: who may do it in the workspace; the platform Admin is not a member. The other
    # workspace's Admin may do nothing here.
    "view_workspace": {WS_ADMIN: True, WS_EDITOR: True, WS_VIEWER: True, ADMIN: True},
    "browse_images": {WS_ADMIN: True, WS_EDITOR: True, WS_VIEWER: True, ADMIN: False},
    "use_images": {WS_ADMIN: True, WS_EDITOR: True, WS_VIEWER: False, ADMIN: False},
    "fetch_pull_secret": {WS_ADMIN: True, WS_EDITOR: True, WS_VIEWER: False, ADMIN: True},
    "manage_members": {WS_ADMIN: True, WS_EDITOR: False, WS_VIEWER: False, ADMIN: True},
    "manage_workspace_registries": {WS_ADMIN: True, WS_EDITOR: False, WS_VIEWER: False, ADMIN: False},
}


@pytest.mark.parametrize("action", EXPECTED)
def test_workspace_actions_follow_the_role(action, workspace, other_workspace):
    allowed = {
        persona: can(user_for(persona), action, workspace) for persona in (*EXPECTED[action], OUTSIDER)
    }
    assert allowed == {**EXPECTED[action], OUTSIDER: False}


def test_unknown_action_is_a_programming_error(ws_admin, workspace):
    with pytest.raises(ValueError, match="unknown action"):
        can(ws_admin, "launch_rockets", workspace)


def test_anonymous_may_do_nothing(db, workspace):
    from django.contrib.auth.models import AnonymousUser

    assert not can(AnonymousUser(), "manage_registries")
    assert not can(AnonymousUser(), "view_workspace", workspace)

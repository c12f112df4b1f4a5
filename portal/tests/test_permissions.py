import pytest

from portal.permissions import can, is_admin


@pytest.mark.parametrize("action", ["manage_registries", "bind_spaces", "bind_namespaces",
                                    "manage_workspaces", "view_audit_log"])
def test_platform_actions_are_admin_only(action, admin, ws_admin, ws_editor, ws_viewer, outsider):
    assert can(admin, action)
    for user in (ws_admin, ws_editor, ws_viewer, outsider):
        assert not can(user, action)


def test_superuser_counts_as_admin(django_user_model, db):
    assert is_admin(django_user_model.objects.create_superuser("su", "su@example.com", "pw"))


EXPECTED = {
    # action: roles allowed (admin, editor, viewer), then platform Admin who is not a member
    "view_workspace": (True, True, True, True),
    "browse_images": (True, True, True, False),
    "use_images": (True, True, False, False),
    "fetch_pull_secret": (True, True, False, True),
    "manage_members": (True, False, False, True),
    "manage_workspace_registries": (True, False, False, False),
}


@pytest.mark.parametrize("action", EXPECTED)
def test_workspace_actions_follow_the_role(action, workspace, admin, ws_admin, ws_editor,
                                           ws_viewer, outsider):
    expected = EXPECTED[action]
    actual = tuple(can(user, action, workspace) for user in (ws_admin, ws_editor, ws_viewer, admin))
    assert actual == expected
    assert not can(outsider, action, workspace)


def test_unknown_action_is_a_programming_error(ws_admin, workspace):
    with pytest.raises(ValueError, match="unknown action"):
        can(ws_admin, "launch_rockets", workspace)


def test_anonymous_may_do_nothing(db, workspace):
    from django.contrib.auth.models import AnonymousUser

    assert not can(AnonymousUser(), "manage_registries")
    assert not can(AnonymousUser(), "view_workspace", workspace)

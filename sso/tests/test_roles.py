"""Roles from the group claim, and the membership changes a sign-in makes (no provider needed)."""

import pytest

from conftest import make_user
from portal.models import AuditEvent
from registries import tokens
from registries.models import PullCredential, Registry
from sso.errors import ClaimsRefused
from sso.roles import ClaimedRoles, roles_from_claims
from workspaces import services
from workspaces.models import Membership


@pytest.fixture(autouse=True)
def claim_settings(settings):
    settings.WHARF_OIDC_GROUPS_CLAIM = "groups"
    settings.WHARF_OIDC_ADMIN_GROUP = "wharf-admins"
    settings.WHARF_OIDC_WORKSPACE_GROUP_PATTERN = "wharf:{workspace}:{role}"
    settings.WHARF_OIDC_PROVIDER_NAME = "DCE Login"


@pytest.mark.parametrize(
    "groups, expected",
    [
        ([], ClaimedRoles()),
        (["wharf-admins"], ClaimedRoles(admin=True)),
        (
            ["/wharf-admins", "/wharf:payments:viewer"],
            ClaimedRoles(admin=True, workspaces={"payments": "viewer"}),
        ),
        ("wharf:payments:editor", ClaimedRoles(workspaces={"payments": "editor"})),
        (["wharf:payments:viewer", "wharf:payments:editor"], ClaimedRoles(workspaces={"payments": "editor"})),
        (["WHARF-ADMINS", "wharf-admins-old", "x/wharf-admins"], ClaimedRoles()),
    ],
)
def test_groups_become_roles(groups, expected):
    assert roles_from_claims({"groups": groups}) == expected


def test_without_an_admin_group_setting_nobody_becomes_admin_by_sign_in(settings):
    settings.WHARF_OIDC_ADMIN_GROUP = ""
    assert roles_from_claims({"groups": [""]}).admin is False


def test_another_claim_name_is_read(settings):
    settings.WHARF_OIDC_GROUPS_CLAIM = "roles"
    assert roles_from_claims({"roles": ["wharf:search:admin"]}).workspaces == {"search": "admin"}
    with pytest.raises(ClaimsRefused, match="'roles' claim is missing"):
        roles_from_claims({"groups": ["wharf:search:admin"]})


@pytest.mark.parametrize("value", [None, 3, {"wharf-admins": True}, ["ok", 5]])
def test_a_group_claim_that_is_no_list_of_names_is_refused(value):
    with pytest.raises(ClaimsRefused, match="not a list of group names"):
        roles_from_claims({"groups": value})


# -- the membership changes ------------------------------------------------------------------------


def test_sign_in_grants_changes_and_revokes_only_provider_memberships(workspace, other_workspace, ws_editor):
    unknown = services.sync_memberships_by_sign_in(
        ws_editor, {"search": "viewer", "gone": "admin", "payments": "admin"}, provider="DCE Login"
    )
    assert unknown == ["gone"]
    rows = {m.workspace.name: (m.role, m.source) for m in Membership.objects.filter(user=ws_editor)}
    # payments was made in Wharf: it stays editor although the provider says admin.
    assert rows == {"payments": ("editor", "wharf"), "search": ("viewer", "provider")}
    assert services.memberships_follow_sign_in(ws_editor, {"search": "viewer", "payments": "admin"})
    assert not services.memberships_follow_sign_in(ws_editor, {"search": "admin"})

    services.sync_memberships_by_sign_in(ws_editor, {"search": "admin"}, provider="DCE Login")
    services.sync_memberships_by_sign_in(ws_editor, {}, provider="DCE Login")
    rows = {m.workspace.name: (m.role, m.source) for m in Membership.objects.filter(user=ws_editor)}
    assert rows == {"payments": ("editor", "wharf")}
    assert list(AuditEvent.objects.order_by("id").values_list("action", "actor_name")) == [
        ("membership.sign_in_grant", "system"),
        ("membership.sign_in_change", "system"),
        ("membership.sign_in_revoke", "system"),
    ]


def test_the_provider_can_take_away_a_last_workspace_admin(workspace, db):
    dana = make_user("dana")
    services.sync_memberships_by_sign_in(dana, {"payments": "admin"}, provider="DCE Login")
    services.sync_memberships_by_sign_in(dana, {}, provider="DCE Login")
    assert not Membership.objects.filter(workspace=workspace, role="admin").exists()


@pytest.mark.parametrize(
    "function", [services.change_membership_by_sign_in, services.revoke_membership_by_sign_in]
)
def test_sign_in_never_changes_a_membership_made_in_wharf(ws_viewer, function):
    membership = Membership.objects.get(user=ws_viewer)
    kwargs = {"role": "admin"} if function is services.change_membership_by_sign_in else {}
    with pytest.raises(ValueError, match="only memberships made by sign-in"):
        function(membership, provider="DCE Login", **kwargs)
    membership.refresh_from_db()
    assert membership.role == "viewer"
    assert not AuditEvent.objects.exists()


def test_losing_the_group_at_the_provider_rotates_the_workspace_pull_credentials(workspace, db, settings):
    # The member may keep a copy of the shared secret, as when leaving through a page.
    settings.WHARF_ROTATE_ON_MEMBER_LEAVE = True
    registry = Registry.objects.create(
        name="tok", kind="distribution", url="http://127.0.0.1:9", token_service=True
    )
    _username, old_secret = tokens.mint_workspace_credential(workspace, registry)
    dana = make_user("dana")
    services.sync_memberships_by_sign_in(dana, {"payments": "editor"}, provider="DCE Login")
    services.sync_memberships_by_sign_in(dana, {}, provider="DCE Login")
    credential = PullCredential.objects.get(workspace=workspace, registry=registry)
    assert credential.secret_hash != tokens.hash_secret(old_secret)
    assert credential.previous_secret_hash == tokens.hash_secret(old_secret)
    assert AuditEvent.objects.filter(action="workspace.rotate_pull_credentials").exists()

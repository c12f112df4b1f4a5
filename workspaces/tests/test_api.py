"""The workspaces API: the Admin creates and sees every workspace; members see their own."""

import pytest
from rest_framework.test import APIClient

from conftest import make_user
from portal.models import AuditEvent
from testkit.access import assert_access
from testkit.personas import ANONYMOUS, OUTSIDER, WS_ADMIN, WS_EDITOR, WS_VIEWER
from workspaces.models import Workspace

URL = "/api/v1/workspaces/"


@pytest.fixture
def api():
    return APIClient()


def names(response):
    return [row["name"] for row in response.json()["results"]]


def test_the_admin_lists_every_workspace(api, admin, workspace, other_workspace):
    api.force_login(admin)
    response = api.get(URL)
    assert response.status_code == 200
    assert names(response) == ["payments", "search"]
    assert {row["role"] for row in response.json()["results"]} == {None}


@pytest.mark.parametrize(
    "persona, role",
    [
        ("ws_admin", "admin"),
        ("ws_editor", "editor"),
        ("ws_viewer", "viewer"),
    ],
)
def test_members_list_only_their_workspace_with_their_role(api, request, persona, role, other_workspace):
    api.force_login(request.getfixturevalue(persona))
    response = api.get(URL)
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": Workspace.objects.get(name="payments").pk,
            "name": "payments",
            "description": "Payments team",
            "created": response.json()["results"][0]["created"],
            "role": role,
        }
    ]


def test_the_outsider_lists_only_their_own_workspace(api, outsider, workspace):
    api.force_login(outsider)
    assert names(api.get(URL)) == ["search"]


def test_a_user_without_memberships_lists_nothing(api, workspace):
    api.force_login(make_user("loner"))
    response = api.get(URL)
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_an_admin_who_is_also_a_member_sees_their_role(api, workspace, other_workspace):
    api.force_login(make_user("admin-member", workspace=workspace, role="viewer", admin=True))
    rows = {row["name"]: row["role"] for row in api.get(URL).json()["results"]}
    assert rows == {"payments": "viewer", "search": None}


def test_workspace_list_filters_by_name(api, admin, workspace, other_workspace):
    api.force_login(admin)
    assert names(api.get(URL, {"name": "PAY"})) == ["payments"]


@pytest.mark.parametrize("persona", ["ws_admin", "ws_editor", "ws_viewer"])
def test_members_read_their_workspace_but_another_one_is_404(
    api, request, persona, workspace, other_workspace
):
    api.force_login(request.getfixturevalue(persona))
    assert api.get(f"{URL}{workspace.pk}/").json()["name"] == "payments"
    assert api.get(f"{URL}{other_workspace.pk}/").status_code == 404


def test_the_outsider_gets_404_for_a_workspace_they_are_not_in(api, outsider, workspace):
    api.force_login(outsider)
    assert api.get(f"{URL}{workspace.pk}/").status_code == 404


def test_the_admin_reads_any_workspace(api, admin, workspace):
    api.force_login(admin)
    response = api.get(f"{URL}{workspace.pk}/")
    assert response.status_code == 200
    assert response.json()["description"] == "Payments team"


def test_an_unknown_workspace_is_404(api, admin, db):
    api.force_login(admin)
    assert api.get(f"{URL}999999/").status_code == 404


def test_the_admin_creates_a_workspace_and_it_is_audited(api, admin, db):
    api.force_login(admin)
    response = api.post(URL, {"name": "team-new", "description": "A new team"}, format="json")
    assert response.status_code == 201
    workspace = Workspace.objects.get(name="team-new")
    assert response.json()["id"] == workspace.pk
    assert workspace.description == "A new team"
    event = AuditEvent.objects.get(action="workspace.create")
    assert event.actor == admin
    assert event.target_id == str(workspace.pk)
    assert event.after == {"name": "team-new", "description": "A new team"}


def test_a_description_is_optional(api, admin, db):
    api.force_login(admin)
    assert api.post(URL, {"name": "bare"}, format="json").status_code == 201


def test_nobody_else_creates_workspaces(api, workspace, other_workspace):
    before = Workspace.objects.count()
    assert_access(
        api,
        URL,
        {WS_ADMIN: 403, WS_EDITOR: 403, WS_VIEWER: 403, OUTSIDER: 403, ANONYMOUS: 401},
        method="post",
        data={"name": "team-new"},
        format="json",
    )
    assert Workspace.objects.count() == before
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "body, message",
    [
        ({"name": "Team New"}, "lowercase letters, digits and hyphens"),
        ({"name": "-team"}, "lowercase letters, digits and hyphens"),
        ({"name": "x" * 64}, "no more than 63 characters"),
        ({"name": ""}, "This field may not be blank."),
        ({}, "This field is required."),
        ({"name": "payments"}, "A workspace with this name already exists."),
    ],
)
def test_bad_workspace_names_are_refused_on_the_field(api, admin, workspace, body, message):
    api.force_login(admin)
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert message in " ".join(response.json()["name"])
    assert Workspace.objects.count() == 1
    assert not AuditEvent.objects.exists()


def test_anonymous_is_asked_to_authenticate(api, workspace):
    assert api.get(URL).status_code == 401
    assert api.get(f"{URL}{workspace.pk}/").status_code == 401
    assert api.post(URL, {"name": "sneaky"}, format="json").status_code == 401
    assert not Workspace.objects.filter(name="sneaky").exists()


def test_workspaces_are_not_changed_or_deleted_through_this_api(api, admin, workspace):
    api.force_login(admin)
    assert api.patch(f"{URL}{workspace.pk}/", {"name": "renamed"}, format="json").status_code == 405
    assert api.delete(f"{URL}{workspace.pk}/").status_code == 405
    assert Workspace.objects.get(pk=workspace.pk).name == "payments"

"""The members API: a workspace's members read who is in it; its Workspace Admins (and platform
Admins) add members, change roles and remove members. Someone else's workspace answers 404,
every change is audited, and bad input is a 400 on the field that changes nothing."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from conftest import make_user
from portal.models import AuditEvent
from workspaces.models import Membership

MEMBERS = ["ws_admin", "ws_editor", "ws_viewer"]


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def team(ws_admin, ws_editor, ws_viewer):
    """The payments workspace with one member of each role."""
    return {"admin": ws_admin, "editor": ws_editor, "viewer": ws_viewer}


@pytest.fixture
def newcomer(db):
    return make_user("newcomer")


def members_url(workspace, membership=None):
    url = f"/api/v1/workspaces/{getattr(workspace, 'pk', workspace)}/members/"
    return f"{url}{getattr(membership, 'pk', membership)}/" if membership is not None else url


def membership_of(user, workspace):
    return Membership.objects.get(user=user, workspace=workspace)


def snapshot():
    """Everything a members call might change, to prove a refused call changed nothing."""
    return {
        "memberships": sorted(Membership.objects.values_list("pk", "workspace_id", "user_id", "role")),
        "audit": AuditEvent.objects.count(),
    }


def every_endpoint(workspace, membership, user):
    """(method, url, body) for each operation on a workspace's members."""
    return [
        ("get", members_url(workspace), None),
        ("post", members_url(workspace), {"username": user.username, "role": "viewer"}),
        ("get", members_url(workspace, membership), None),
        ("patch", members_url(workspace, membership), {"role": "admin"}),
        ("delete", members_url(workspace, membership), None),
    ]


def call(client, method, url, body=None):
    return getattr(client, method)(url, body, format="json")


# Reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", MEMBERS)
def test_every_member_lists_the_members_of_their_workspace_with_their_roles(
    api, request, persona, workspace, team
):
    api.force_login(request.getfixturevalue(persona))
    response = api.get(members_url(workspace))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["username"], row["role"]) for row in rows] == [
        ("ws-admin", "admin"),
        ("ws-editor", "editor"),
        ("ws-viewer", "viewer"),
    ]
    assert rows[0]["id"] == membership_of(team["admin"], workspace).pk
    assert rows[0]["user"] == team["admin"].pk


def test_the_platform_admin_lists_the_members_of_any_workspace(api, admin, workspace, team):
    api.force_login(admin)
    response = api.get(members_url(workspace))
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_a_member_reads_one_membership(api, ws_viewer, workspace, team):
    api.force_login(ws_viewer)
    membership = membership_of(team["editor"], workspace)
    response = api.get(members_url(workspace, membership))
    assert response.status_code == 200
    assert response.json()["username"] == "ws-editor"
    assert response.json()["role"] == "editor"


def test_the_member_list_filters_by_role_and_username(api, ws_admin, workspace, team):
    api.force_login(ws_admin)

    def usernames(**query):
        return [row["username"] for row in api.get(members_url(workspace), query).json()["results"]]

    assert usernames(role="viewer") == ["ws-viewer"]
    assert usernames(username="EDIT") == ["ws-editor"]
    bad = api.get(members_url(workspace), {"role": "owner"})
    assert bad.status_code == 400 and "role" in bad.json()


def test_the_member_list_shows_only_that_workspaces_members(api, admin, workspace, outsider, team):
    api.force_login(admin)
    assert "outsider" not in [row["username"] for row in api.get(members_url(workspace)).json()["results"]]


def test_the_member_list_query_count_does_not_grow_with_the_members(
    api, ws_admin, workspace, django_assert_max_num_queries
):
    api.force_login(ws_admin)
    for i in range(3):
        make_user(f"few-{i}", workspace=workspace, role="viewer")
    with django_assert_max_num_queries(10) as few:
        api.get(members_url(workspace))
    for i in range(30):
        make_user(f"many-{i}", workspace=workspace, role="viewer")
    with django_assert_max_num_queries(10) as many:
        assert len(api.get(members_url(workspace)).json()["results"]) == 34
    assert len(many.captured_queries) == len(few.captured_queries)


# Out of scope and anonymous ---------------------------------------------------------------


@pytest.mark.parametrize("persona", ["outsider", None])
def test_someone_outside_the_workspace_gets_404_on_every_endpoint(
    api, request, persona, workspace, team, newcomer
):
    user = request.getfixturevalue(persona) if persona else make_user("no-memberships")
    api.force_login(user)
    before = snapshot()
    for method, url, body in every_endpoint(workspace, membership_of(team["viewer"], workspace), newcomer):
        response = call(api, method, url, body)
        assert response.status_code == 404, (method, url, response.status_code)
    assert snapshot() == before


@pytest.mark.parametrize("persona", MEMBERS)
def test_a_membership_of_another_workspace_is_404_through_this_workspaces_url(
    api, request, persona, workspace, outsider, other_workspace
):
    api.force_login(request.getfixturevalue(persona))
    theirs = membership_of(outsider, other_workspace)
    before = snapshot()
    assert api.get(members_url(workspace, theirs)).status_code == 404
    if persona == "ws_admin":
        assert api.patch(members_url(workspace, theirs), {"role": "viewer"}, format="json").status_code == 404
        assert api.delete(members_url(workspace, theirs)).status_code == 404
    assert snapshot() == before


def test_members_of_another_workspace_answer_404_to_its_own_members_too(
    api, ws_admin, other_workspace, outsider, newcomer
):
    api.force_login(ws_admin)
    before = snapshot()
    for method, url, body in every_endpoint(
        other_workspace, membership_of(outsider, other_workspace), newcomer
    ):
        assert call(api, method, url, body).status_code == 404, (method, url)
    assert snapshot() == before


def test_an_unknown_workspace_or_membership_is_404(api, admin, workspace):
    api.force_login(admin)
    assert api.get(members_url(999999)).status_code == 404
    assert api.get(members_url(workspace, 999999)).status_code == 404
    assert api.delete(members_url(workspace, 999999)).status_code == 404


def test_anonymous_is_asked_to_authenticate_on_every_endpoint(api, workspace, team, newcomer):
    before = snapshot()
    for method, url, body in every_endpoint(workspace, membership_of(team["viewer"], workspace), newcomer):
        response = call(api, method, url, body)
        assert response.status_code == 401, (method, url)
        assert response["WWW-Authenticate"] == "Token"
    assert snapshot() == before


# Who may change members -------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["ws_editor", "ws_viewer"])
def test_editors_and_viewers_may_not_change_members(api, request, persona, workspace, team, newcomer):
    api.force_login(request.getfixturevalue(persona))
    before = snapshot()
    for method, url, body in every_endpoint(workspace, membership_of(team["viewer"], workspace), newcomer):
        if method == "get":
            continue
        response = call(api, method, url, body)
        assert response.status_code == 403, (method, url, response.status_code)
        assert response.json() == {
            "detail": "Only a Workspace Admin of this workspace may change its members."
        }
    assert snapshot() == before


def test_a_workspace_admin_adds_a_member_and_it_is_audited(api, ws_admin, workspace, newcomer):
    api.force_login(ws_admin)
    response = api.post(members_url(workspace), {"username": "newcomer", "role": "editor"}, format="json")
    assert response.status_code == 201
    membership = membership_of(newcomer, workspace)
    assert response.json() == {
        "id": membership.pk,
        "user": newcomer.pk,
        "username": "newcomer",
        "role": "editor",
        "created": response.json()["created"],
    }
    event = AuditEvent.objects.get(action="membership.create")
    assert event.actor == ws_admin
    assert event.target_id == str(workspace.pk)
    assert event.after == {"user": "newcomer", "role": "editor"}


def test_the_new_member_then_sees_the_workspace(api, ws_admin, workspace, newcomer):
    api.force_login(ws_admin)
    api.post(members_url(workspace), {"username": "newcomer", "role": "viewer"}, format="json")
    api.force_login(newcomer)
    assert api.get(members_url(workspace)).status_code == 200
    assert [row["name"] for row in api.get("/api/v1/workspaces/").json()["results"]] == ["payments"]


def test_a_workspace_admin_changes_a_role_and_it_is_audited(api, ws_admin, workspace, team):
    api.force_login(ws_admin)
    membership = membership_of(team["viewer"], workspace)
    response = api.patch(members_url(workspace, membership), {"role": "editor"}, format="json")
    assert response.status_code == 200
    assert response.json()["role"] == "editor"
    membership.refresh_from_db()
    assert membership.role == "editor"
    event = AuditEvent.objects.get(action="membership.update")
    assert event.before == {"user": "ws-viewer", "role": "viewer"}
    assert event.after == {"user": "ws-viewer", "role": "editor"}


def test_giving_the_same_role_again_changes_nothing_and_writes_no_event(api, ws_admin, workspace, team):
    api.force_login(ws_admin)
    membership = membership_of(team["editor"], workspace)
    response = api.patch(members_url(workspace, membership), {"role": "editor"}, format="json")
    assert response.status_code == 200
    assert not AuditEvent.objects.exists()


def test_a_workspace_admin_removes_a_member_and_it_is_audited(api, ws_admin, workspace, team):
    api.force_login(ws_admin)
    membership = membership_of(team["editor"], workspace)
    response = api.delete(members_url(workspace, membership))
    assert response.status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert User.objects.filter(pk=team["editor"].pk).exists()  # the account itself stays
    event = AuditEvent.objects.get(action="membership.delete")
    assert event.actor == ws_admin
    assert event.before == {"user": "ws-editor", "role": "editor"}


def test_a_removed_member_no_longer_sees_the_workspace(api, ws_admin, ws_viewer, workspace):
    api.force_login(ws_admin)
    api.delete(members_url(workspace, membership_of(ws_viewer, workspace)))
    api.force_login(ws_viewer)
    assert api.get(members_url(workspace)).status_code == 404


def test_the_platform_admin_manages_members_of_a_workspace_they_are_not_in(
    api, admin, workspace, team, newcomer
):
    api.force_login(admin)
    added = api.post(members_url(workspace), {"username": "newcomer", "role": "admin"}, format="json")
    assert added.status_code == 201
    viewer = membership_of(team["viewer"], workspace)
    assert api.patch(members_url(workspace, viewer), {"role": "editor"}, format="json").status_code == 200
    assert api.delete(members_url(workspace, viewer)).status_code == 204
    assert list(AuditEvent.objects.order_by("pk").values_list("action", "actor")) == [
        ("membership.create", admin.pk),
        ("membership.update", admin.pk),
        ("membership.delete", admin.pk),
    ]


def test_the_outsider_may_be_added_to_a_second_workspace(api, ws_admin, workspace, outsider):
    api.force_login(ws_admin)
    response = api.post(members_url(workspace), {"username": "outsider", "role": "viewer"}, format="json")
    assert response.status_code == 201
    assert Membership.objects.filter(user=outsider).count() == 2


def test_a_membership_is_not_replaced_with_put(api, ws_admin, workspace, team):
    api.force_login(ws_admin)
    membership = membership_of(team["viewer"], workspace)
    response = api.put(members_url(workspace, membership), {"role": "admin"}, format="json")
    assert response.status_code == 405
    membership.refresh_from_db()
    assert membership.role == "viewer"


# Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"username": "nobody", "role": "viewer"}, "username", "There is no user named nobody."),
        (
            {"username": "ws-editor", "role": "viewer"},
            "username",
            "ws-editor is already a member of this workspace.",
        ),
        ({"username": "", "role": "viewer"}, "username", "This field may not be blank."),
        ({"username": "x" * 151, "role": "viewer"}, "username", "no more than 150 characters"),
        ({"role": "viewer"}, "username", "This field is required."),
        ({"username": "newcomer", "role": "owner"}, "role", '"owner" is not a valid choice.'),
        ({"username": "newcomer"}, "role", "This field is required."),
    ],
)
def test_bad_new_members_are_refused_on_the_field(
    api, ws_admin, workspace, team, newcomer, body, field, message
):
    api.force_login(ws_admin)
    before = snapshot()
    response = api.post(members_url(workspace), body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert message in " ".join(response.json()[field])
    assert snapshot() == before


@pytest.mark.parametrize(
    "body, message",
    [
        ({"role": "owner"}, '"owner" is not a valid choice.'),
        ({"role": ""}, '"" is not a valid choice.'),
        ({}, "This field is required."),
        ({"username": "someone-else"}, "This field is required."),
    ],
)
def test_a_bad_role_change_is_refused_on_the_field(api, ws_admin, workspace, team, body, message):
    api.force_login(ws_admin)
    before = snapshot()
    response = api.patch(
        members_url(workspace, membership_of(team["viewer"], workspace)), body, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"role": [message]}
    assert snapshot() == before

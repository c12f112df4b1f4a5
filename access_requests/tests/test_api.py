"""The access requests API: the pages' rules, as JSON."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from access_requests.models import AccessRequest
from access_requests.services import request_access
from portal.models import AuditEvent
from registries.models import SpaceBinding
from testkit.access import assert_access
from testkit.personas import ANONYMOUS, OUTSIDER, WS_ADMIN, WS_EDITOR, WS_VIEWER

URL = "/api/v1/access-requests/"


def api_for(user):
    api = APIClient()
    api.force_login(user)
    return api


def body(workspace, registry, space_name="vault", reason="needed for billing"):
    return {"workspace": workspace.pk, "registry": registry.pk, "space_name": space_name, "reason": reason}


@pytest.mark.parametrize("persona", ["ws_admin", "ws_editor"])
def test_members_who_may_ask_create_and_list_requests(request, persona, workspace, registry, vault):
    api = api_for(request.getfixturevalue(persona))
    response = api.post(URL, body(workspace, registry), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "pending" and data["space_name"] == "vault"
    assert data["workspace"] == {"id": workspace.pk, "name": "payments"}
    assert data["matching_space"] is None  # never told to members
    listed = api.get(URL).json()
    assert [item["id"] for item in listed["results"]] == [data["id"]]
    assert api.get(f"{URL}{data['id']}/").json()["matching_space"] is None


def test_the_answer_for_no_such_space_is_the_answer_for_a_private_one(ws_editor, workspace, registry, vault):
    api = api_for(ws_editor)
    real = api.post(URL, body(workspace, registry, "vault"), format="json").json()
    invented = api.post(URL, body(workspace, registry, "invented"), format="json").json()
    differing = {key for key in real if real[key] != invented[key]}
    assert differing <= {"id", "space_name", "created"}


def test_viewer_and_anonymous_are_refused(ws_viewer, workspace, registry, vault):
    api = api_for(ws_viewer)
    assert api.post(URL, body(workspace, registry), format="json").status_code == 403
    assert api.get(URL).status_code == 403
    assert APIClient().get(URL).status_code in (401, 403)
    assert not AccessRequest.objects.exists()


def test_another_workspaces_request_is_a_404_and_not_listed(ws_editor, outsider, workspace, registry, vault):
    access_request, _ = request_access(
        ws_editor, workspace=workspace, registry=registry, space_name="vault", reason="x"
    )
    api = api_for(outsider)
    assert api.get(f"{URL}{access_request.pk}/").status_code == 404
    assert api.get(URL).json()["results"] == []
    # Nor can they ask for it.
    response = api.post(URL, body(workspace, registry), format="json")
    assert response.status_code == 400 and "workspace" in response.json()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"space_name": "Not Valid"}, "space_name"),
        ({"space_name": 7}, "space_name"),
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"registry": 999999}, "registry"),
        ({"registry": 1.0}, "registry"),
        ({"workspace": "١"}, "workspace"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_records_nothing(
    ws_editor, workspace, registry, vault, change, field
):
    response = api_for(ws_editor).post(URL, {**body(workspace, registry), **change}, format="json")
    assert response.status_code == 400, response.content
    if field:
        assert field in response.json()
    assert not AccessRequest.objects.exists() and not AuditEvent.objects.exists()


def test_a_duplicate_merges_and_answers_200(ws_editor, ws_admin, workspace, registry, vault):
    first = api_for(ws_editor).post(URL, body(workspace, registry), format="json").json()
    response = api_for(ws_admin).post(URL, body(workspace, registry, reason="again"), format="json")
    assert response.status_code == 200
    assert response.json()["id"] == first["id"] and response.json()["times_requested"] == 2
    assert AccessRequest.objects.count() == 1


def test_admin_sees_the_match_approves_with_an_end_and_the_binding_follows(
    admin, ws_editor, workspace, registry, vault
):
    created = api_for(ws_editor).post(URL, body(workspace, registry), format="json").json()
    api = api_for(admin)
    assert api.get(URL, {"status": "pending"}).json()["results"][0]["matching_space"] == vault.pk
    when = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    response = api.post(
        f"{URL}{created['id']}/approve/", {"note": "ok", "expires": when.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    assert SpaceBinding.objects.get(space=vault, workspace=workspace).expires == when
    assert AuditEvent.objects.filter(action__in=["access_request.approve", "space.bind"]).count() == 2
    again = api.post(f"{URL}{created['id']}/decline/", {}, format="json")
    assert again.status_code == 400 and "status" in again.json()


def test_approving_with_a_past_end_is_a_400_and_changes_nothing(admin, ws_editor, workspace, registry, vault):
    created = api_for(ws_editor).post(URL, body(workspace, registry), format="json").json()
    response = api_for(admin).post(
        f"{URL}{created['id']}/approve/", {"expires": "2020-01-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 400 and "expires" in response.json()
    assert AccessRequest.objects.get().is_pending and not SpaceBinding.objects.exists()


def test_admin_declines_with_a_note(admin, ws_editor, workspace, registry, vault):
    created = api_for(ws_editor).post(URL, body(workspace, registry), format="json").json()
    response = api_for(admin).post(f"{URL}{created['id']}/decline/", {"note": "no"}, format="json")
    assert response.status_code == 200 and response.json()["note"] == "no"
    mine = api_for(ws_editor).get(f"{URL}{created['id']}/").json()
    assert mine["status"] == "declined" and mine["note"] == "no" and mine["decided_by"] == "root-admin"


def test_only_admins_approve_or_decline(ws_editor, workspace, registry, vault):
    access_request, _ = request_access(
        ws_editor, workspace=workspace, registry=registry, space_name="vault", reason="x"
    )
    for name in ("approve", "decline"):
        assert_access(
            APIClient(),
            f"{URL}{access_request.pk}/{name}/",
            {WS_ADMIN: 403, WS_EDITOR: 403, WS_VIEWER: 403, OUTSIDER: 403, ANONYMOUS: 401},
            method="post",
            data={},
            format="json",
        )
    assert AccessRequest.objects.get().is_pending


def test_the_list_filters(admin, ws_editor, workspace, registry, vault):
    for name in ("vault", "other"):
        request_access(ws_editor, workspace=workspace, registry=registry, space_name=name, reason="x")
    api = api_for(admin)
    assert [item["space_name"] for item in api.get(URL, {"space_name": "vau"}).json()["results"]] == ["vault"]
    assert api.get(URL, {"status": "declined"}).json()["results"] == []
    assert api.get(URL, {"status": "nonsense"}).status_code == 400
    assert api.get(URL, {"workspace": ""}).status_code == 400
    assert len(api.get(URL, {"registry": registry.pk}).json()["results"]) == 2


def test_list_query_count_stays_constant(
    admin, ws_editor, workspace, registry, django_assert_max_num_queries
):
    api = api_for(admin)
    request_access(ws_editor, workspace=workspace, registry=registry, space_name="a", reason="x")
    with django_assert_max_num_queries(8) as few:
        api.get(URL)
    for n in range(10):
        request_access(ws_editor, workspace=workspace, registry=registry, space_name=f"s{n}", reason="x")
    with django_assert_max_num_queries(8) as many:
        api.get(URL)
    assert len(many.captured_queries) == len(few.captured_queries)

"""The pages and the API answer the same for the same filter: one FilterSet per list serves
both (registries/api/filters.py, workspaces/api/filters.py, access_requests/api/filters.py),
and these tests compare the rows a page shows with the objects the API lists, as an Admin and
as a workspace member. Each case's filter is chosen so that it keeps some rows and drops others.
"""

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from access_requests.models import AccessRequest
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding
from registries.tests import image_world
from workspaces.models import Cluster, Namespace, Workspace

MARKER = 987654321


@pytest.fixture
def api():
    return APIClient()


def page_ids(response, route: str, *args) -> set[int]:
    """The ids of the objects a page links to through ``route`` (its rows' links)."""
    assert response.status_code == 200, response.status_code
    pattern = re.escape(reverse(route, args=[*args, MARKER])).replace(str(MARKER), r"(\d+)")
    return {int(pk) for pk in re.findall(pattern, response.text)}


def api_ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    data = response.json()
    assert data.get("next") is None, "the case's data must fit one page of the API"
    return {item["id"] for item in data["results"]}


def both(client, api, user):
    client.force_login(user)
    api.force_login(user)


# Integrated Registry (Admin) ---------------------------------------------------------------


@pytest.fixture
def registries(db):
    for name in ("harbor-prod", "harbor-test", "dockerhub-mirror"):
        Registry.objects.create(name=name, kind="harbor", url=f"https://{name}.example.com", is_demo=True)


@pytest.mark.parametrize("query", [{}, {"q": "harbor"}, {"q": "MIRROR"}, {"q": "none-such"}])
def test_registry_page_and_api_list_the_same_registries(client, api, admin, registries, query):
    both(client, api, admin)
    page = page_ids(client.get(reverse("registries:platform-list"), query), "registries:detail")
    listed = api_ids(api.get(reverse("api:registry-list"), query))
    assert page == listed
    if query.get("q") == "harbor":
        assert {r.name for r in Registry.objects.filter(pk__in=page)} == {"harbor-prod", "harbor-test"}


@pytest.fixture
def spaces_registry(db, workspace):
    registry = Registry.objects.create(name="hub", kind="harbor", url="https://hub.example.com", is_demo=True)
    for name, visibility in [
        ("team-a", "private"),
        ("team-b", "public"),
        ("tools", "private"),
        ("library", "public"),
        ("team-c", "private"),
    ]:
        space = RegistrySpace.objects.create(registry=registry, name=name, visibility=visibility)
        if name == "team-a":
            SpaceBinding.objects.create(space=space, workspace=workspace)
    return registry


def space_row_ids(response) -> set[int]:
    assert response.status_code == 200
    return {int(pk) for pk in re.findall(r'<tr id="space-(\d+)"', response.text)}


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"q": "team"},
        {"visibility": "private"},
        {"q": "team", "visibility": "public"},
        {"visibility": "secret"},
    ],
)
def test_space_page_and_api_list_the_same_spaces(client, api, admin, spaces_registry, query):
    both(client, api, admin)
    page = space_row_ids(client.get(reverse("registries:spaces", args=[spaces_registry.pk]), query))
    api_answer = api.get(reverse("api:registry-spaces", args=[spaces_registry.pk]), query)
    if query.get("visibility") == "secret":
        # The API refuses a value it does not know; the page shows everything for it.
        assert api_answer.status_code == 400
        assert page == set(spaces_registry.spaces.values_list("pk", flat=True))
        return
    assert page == api_ids(api_answer)
    if query == {"q": "team", "visibility": "public"}:
        assert {s.name for s in RegistrySpace.objects.filter(pk__in=page)} == {"team-b"}


# Workspaces, their registries and namespaces -----------------------------------------------


@pytest.fixture
def workspaces(workspace, other_workspace):
    Workspace.objects.create(name="payments-eu", description="")
    Workspace.objects.create(name="ledger", description="")


@pytest.mark.parametrize("persona", ["admin", "ws_viewer", "outsider"])
@pytest.mark.parametrize("query", [{}, {"q": "pay"}, {"q": "sea"}])
def test_workspace_page_and_api_list_the_same_workspaces(client, api, request, workspaces, persona, query):
    both(client, api, request.getfixturevalue(persona))
    page = page_ids(client.get(reverse("workspaces:list"), query), "workspaces:detail")
    assert page == api_ids(api.get(reverse("api:workspace-list"), query))


@pytest.mark.parametrize("persona", ["admin", "ws_viewer"])
@pytest.mark.parametrize("query", [{}, {"q": "mirror"}])
def test_workspace_registry_page_and_api_list_the_same_registries(
    client, api, request, workspace, persona, query
):
    for name in ("own-mirror", "own-cache"):
        Registry.objects.create(
            name=name,
            kind="distribution",
            url=f"https://{name}.example.com",
            scope="workspace",
            workspace=workspace,
            is_demo=True,
        )
    both(client, api, request.getfixturevalue(persona))
    page = page_ids(
        client.get(reverse("registries:workspace-list"), {"workspace": workspace.pk, **query}),
        "registries:workspace-detail",
    )
    listed = api_ids(api.get(reverse("api:workspace-registry-list", args=[workspace.pk]), query))
    assert page == listed
    assert len(page) == (1 if query else 2)


@pytest.fixture
def namespaces(workspace, other_workspace):
    east, west = Cluster.objects.create(name="east"), Cluster.objects.create(name="west")
    for cluster, name, owner in [
        (east, "payments-api", workspace),
        (east, "edge", None),
        (west, "payments-jobs", workspace),
        (west, "search-api", other_workspace),
        (west, "sandbox", None),
    ]:
        Namespace.objects.create(cluster=cluster, name=name, workspace=owner)


@pytest.mark.parametrize("persona", ["admin", "ws_editor"])
@pytest.mark.parametrize(
    "query", [{}, {"q": "api"}, {"q": "west"}, {"bound": "false"}, {"bound": "true", "q": "payments"}]
)
def test_namespace_page_and_api_list_the_same_namespaces(client, api, request, namespaces, persona, query):
    both(client, api, request.getfixturevalue(persona))
    page = page_ids(client.get(reverse("workspaces:namespace-list"), query), "workspaces:namespace-detail")
    assert page == api_ids(api.get(reverse("api:namespace-list"), query))
    if persona == "admin" and query == {"q": "west"}:
        assert len(page) == 3


# Images and Choose Image -------------------------------------------------------------------


@pytest.fixture
def world(workspace, other_workspace):
    world = image_world.build({"payments": workspace, "search": other_workspace})
    # A second repository in one space, so that a search keeps some rows of a space and not others.
    space = RegistrySpace.objects.get(registry__name="plat", name="pub")
    Repository.objects.create(space=space, name="pub/worker")
    return world


def picker_ids(response) -> set[int]:
    assert response.status_code == 200
    return {int(pk) for pk in re.findall(r"/images/picker/(\d+)/tags/", response.text)}


@pytest.mark.parametrize(
    "persona, namespace_name", [("admin", "ns-free"), ("ws_editor", "ns-w"), ("outsider", "ns-o")]
)
@pytest.mark.parametrize(
    "query",
    [
        {"tab": "public"},
        {"tab": "public", "q": "app"},
        {"tab": "private", "q": "priv"},
        {"tab": "private", "registry": "plat"},
        {"tab": "public", "q": "worker", "registry": "plat"},
    ],
)
def test_picker_page_and_api_list_the_same_repositories(
    client, api, request, world, persona, namespace_name, query
):
    both(client, api, request.getfixturevalue(persona))
    namespace = world["namespaces"][namespace_name]
    if "registry" in query:
        query = {**query, "registry": Registry.objects.get(name=query["registry"]).pk}
    page = picker_ids(
        client.get(
            reverse("registries:picker"),
            {"namespace": namespace.pk, **query},
            headers={"HX-Request": "true", "HX-Target": "modal-body"},
        )
    )
    assert page == api_ids(api.get(reverse("api:namespace-images", args=[namespace.pk]), query))


def test_the_picker_search_keeps_some_repositories_of_a_space_and_drops_others(client, api, world, ws_editor):
    both(client, api, ws_editor)
    namespace = world["namespaces"]["ns-w"]
    query = {"tab": "public", "q": "worker"}
    listed = api_ids(api.get(reverse("api:namespace-images", args=[namespace.pk]), query))
    assert set(Repository.objects.filter(pk__in=listed).values_list("name", flat=True)) == {"pub/worker"}


# Access requests -----------------------------------------------------------------------------


@pytest.fixture
def access_requests(workspace, other_workspace, ws_editor, outsider):
    registry = Registry.objects.create(name="hub", kind="harbor", url="https://hub.example.com", is_demo=True)
    other = Registry.objects.create(name="quay", kind="harbor", url="https://quay.example.com", is_demo=True)
    for owner, user, where, name, status in [
        (workspace, ws_editor, registry, "vault", "pending"),
        (workspace, ws_editor, registry, "vault-tools", "declined"),
        (workspace, ws_editor, other, "billing", "pending"),
        (other_workspace, outsider, registry, "search-index", "pending"),
        (other_workspace, outsider, other, "vault-search", "approved"),
    ]:
        AccessRequest.objects.create(
            workspace=owner,
            requested_by=user,
            registry=where,
            space_name=name,
            status=status,
            reason="We deploy from it.",
        )
    return {"hub": registry, "quay": other}


@pytest.mark.parametrize("persona", ["admin", "ws_editor"])
@pytest.mark.parametrize(
    "query",
    [
        {"status": ""},
        {"status": "pending"},
        {"status": "", "q": "vault"},
        {"status": "", "registry": "quay"},
        {"status": "declined", "q": "tools"},
    ],
)
def test_access_request_page_and_api_list_the_same_requests(
    client, api, request, access_requests, persona, query
):
    both(client, api, request.getfixturevalue(persona))
    if "registry" in query:
        query = {**query, "registry": access_requests[query["registry"]].pk}
    page = page_ids(client.get(reverse("access_requests:list"), query), "access_requests:detail")
    # The API reads an empty status as "any" only when it is left out.
    api_query = {key: value for key, value in query.items() if value != ""}
    assert page == api_ids(api.get(reverse("api:access-request-list"), api_query))
    if persona == "admin" and query == {"status": "", "q": "vault"}:
        assert len(page) == 3


# Audit Log -----------------------------------------------------------------------------------


@pytest.fixture
def audit_events(db):
    from portal.models import AuditEvent

    for actor, action, target in [
        ("alice", "space.bind", "harbor/team-a"),
        ("bob", "space.unbind", "harbor/team-a"),
        ("alice", "registry.create", "harbor"),
        ("carol", "workspace.create", "payments"),
        ("bob", "space.bind", "quay/payments-tools"),
    ]:
        AuditEvent.objects.create(
            actor_name=actor, action=action, target_type="x", target_id="1", target_label=target
        )


def audit_page_times(response) -> set:
    from datetime import datetime

    assert response.status_code == 200
    return {datetime.fromisoformat(stamp) for stamp in re.findall(r'<time datetime="([^"]+)"', response.text)}


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"actor": "ali"},
        {"action": "space.bind"},
        {"target": "team-a"},
        {"words": "payments"},
        {"words": "bob team-a"},
    ],
)
def test_audit_log_page_and_api_list_the_same_events(client, api, admin, audit_events, query):
    from datetime import datetime

    both(client, api, admin)
    page = audit_page_times(client.get(reverse("audit-log"), query))
    answer = api.get(reverse("api:audit-event-list"), query)
    assert answer.status_code == 200, answer.content
    assert page == {datetime.fromisoformat(item["created"]) for item in answer.json()["results"]}
    if query == {"words": "bob team-a"}:
        assert len(page) == 1

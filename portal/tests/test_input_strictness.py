"""Bad input gets a clear 4xx and changes nothing: findings 8, 10 and 14 of the attack run.

These run on SQLite and on PostgreSQL (CI); several of the original 500s (NUL in text, time-
zone offsets past ±15:59) only happened on PostgreSQL.
"""

import re
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from portal.api.parsers import MAX_DEPTH
from portal.models import AuditEvent
from registries import services
from registries.models import Registry, RegistrySpace, SpaceBinding
from testkit.access import api_as
from workspaces.models import Cluster, Namespace


def snapshot():
    return (
        list(SpaceBinding.objects.values_list("space_id", "workspace_id")),
        list(Namespace.objects.values_list("pk", "workspace_id")),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def space(db):
    registry = Registry.objects.create(
        name="demo", kind="harbor", url="https://harbor.example.com", is_demo=True
    )
    return RegistrySpace.objects.create(registry=registry, name="team-a")


@pytest.fixture
def namespace(workspace):
    cluster = Cluster.objects.create(name="prod")
    return Namespace.objects.create(cluster=cluster, name="payments-api", workspace=workspace)


@pytest.fixture
def unbound(db):
    return Namespace.objects.create(cluster=Cluster.objects.get_or_create(name="prod")[0], name="spare")


# Finding 8: unauthenticated and malformed requests that answered 500 ------------------------


@pytest.mark.parametrize("user", [None, "ws_viewer", "ws_editor"])
@pytest.mark.parametrize("how", [{"format": "yaml"}, {"HTTP_ACCEPT": "application/yaml"}])
def test_finding_8_manifest_errors_asked_as_yaml_answer_json(request, namespace, user, how):
    client = api_as(request.getfixturevalue(user)) if user else APIClient()
    url = f"/api/v1/namespaces/{namespace.pk}/manifests/"
    query = {k: v for k, v in how.items() if k == "format"}
    headers = {k: v for k, v in how.items() if k != "format"}
    response = client.post(
        url + ("?format=yaml" if query else ""), {"name": "web", "image": ".exe"}, format="json", **headers
    )
    expected = {None: 401, "ws_viewer": 403, "ws_editor": 400}[user]
    assert response.status_code == expected
    assert response["Content-Type"].startswith("application/json")
    assert "Content-Disposition" not in response
    assert response.json()


def test_finding_8_a_manifest_asked_as_yaml_is_still_the_yaml_file(ws_editor, namespace):
    response = api_as(ws_editor).post(
        f"/api/v1/namespaces/{namespace.pk}/manifests/?format=yaml",
        {"name": "web", "image": "nginx:1.27"},
        format="json",
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert response["Content-Disposition"] == 'attachment; filename="web.yaml"'
    assert "kind: Deployment" in response.content.decode()


def test_finding_8_nul_in_the_bind_dialog_search_lists_nothing_instead_of_failing(
    client, admin, space, workspace
):
    client.force_login(admin)
    url = reverse("registries:space-bindings", args=[space.registry_id, space.pk])
    response = client.get(url, {"results": "1", "q": "pay\x00"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    # The term is refused as a whole: the dialog lists as if nothing was typed.
    assert "payments" in response.text


def _all_routes(patterns=None, prefix=""):
    """Every route of the site, as its pattern text."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _all_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def _page_routes():
    """Every page route (not admin, not the API) that takes no argument."""
    return [
        route
        for route in _all_routes()
        if "<" not in route and not route.startswith(("admin/", "api/", "auth/"))
    ]


@pytest.mark.parametrize("route", _page_routes())
def test_finding_8_nul_in_any_query_parameter_of_any_page_is_no_server_error(
    client, admin, namespace, space, route
):
    client.force_login(admin)
    query = {
        name: "a\x00b"
        for name in (
            "q",
            "workspace",
            "namespace",
            "registry",
            "image",
            "tab",
            "actor",
            "action",
            "target",
            "since",
            "until",
            "bound",
            "page",
            "results",
        )
    }
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get("/" + route, query, headers=headers)
        assert response.status_code < 500, route


API_LISTS = [
    "/api/v1/registries/",
    "/api/v1/workspaces/",
    "/api/v1/clusters/",
    "/api/v1/namespaces/",
    "/api/v1/audit-events/",
]


@pytest.mark.parametrize("url", API_LISTS)
@pytest.mark.parametrize(
    "name",
    ["name", "q", "actor", "target", "action", "username", "cluster", "workspace", "bound", "visibility"],
)
def test_finding_8_nul_in_api_filters_is_a_400_not_a_500(admin, url, name):
    response = api_as(admin).get(url, {name: "x\x00"})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert name in response.json()


def test_finding_8_nul_in_the_picker_search_and_explainer_is_a_400(admin, ws_editor, namespace):
    picker = api_as(ws_editor).get(f"/api/v1/namespaces/{namespace.pk}/images/", {"q": "a\x00"})
    assert picker.status_code == 400
    assert "q" in picker.json()
    explained = api_as(admin).get(f"/api/v1/namespaces/{namespace.pk}/explain/", {"image": "a\x00b"})
    assert explained.status_code == 400
    assert "image" in explained.json()


def test_finding_8_json_nested_100000_deep_is_a_400(admin, space):
    before = snapshot()
    body = "[" * 100_000 + "]" * 100_000
    response = api_as(admin).post(f"/api/v1/spaces/{space.pk}/bind/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]
    assert snapshot() == before


def test_finding_8_json_just_past_the_depth_limit_is_refused_and_at_it_is_parsed(admin, space, workspace):
    too_deep = '{"workspaces": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"
    response = api_as(admin).post(
        f"/api/v1/spaces/{space.pk}/bind/", too_deep, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]
    fine = api_as(admin).post(
        f"/api/v1/spaces/{space.pk}/bind/",
        f'{{"workspaces": [{workspace.pk}]}}',
        content_type="application/json",
    )
    assert fine.status_code == 200


def test_finding_8_brackets_inside_json_strings_do_not_count_as_nesting(admin):
    response = api_as(admin).post(
        "/api/v1/clusters/", {"name": "edge", "description": "[" * 5000}, format="json"
    )
    assert response.status_code == 201
    assert Cluster.objects.get(name="edge").description == "[" * 5000


# Finding 10: audit filters with time-zone offsets the database cannot store -----------------


@pytest.fixture
def dated_events(admin, space, workspace):
    services.change_bindings(space, admin, add=[workspace])
    services.change_bindings(space, admin, remove=[workspace])
    AuditEvent.objects.filter(action="space.bind").update(created=datetime(2024, 1, 1, 12, tzinfo=UTC))
    AuditEvent.objects.filter(action="space.unbind").update(created=datetime(2024, 1, 2, 12, tzinfo=UTC))


BAD_PERIODS = [
    ({"since": "2024-01-01T00:00:00+16:00"}, "since", "Time-zone offsets range from -15:59 to +15:59."),
    ({"until": "2024-01-01T00:00:00-22:57"}, "until", "Time-zone offsets range from -15:59 to +15:59."),
    ({"since": "0001-01-01T00:00:00+01:00"}, "since", "Enter a date between the years 1 and 9999."),
    ({"until": "9999-12-31T23:00:00-02:00"}, "until", "Enter a date between the years 1 and 9999."),
]


@pytest.mark.parametrize("query, field, message", BAD_PERIODS)
def test_finding_10_api_audit_filter_with_an_impossible_offset_is_a_400_on_the_field(
    admin, dated_events, query, field, message
):
    response = api_as(admin).get("/api/v1/audit-events/", query)
    assert response.status_code == 400
    assert response.json() == {field: [message]}


@pytest.mark.parametrize("query, field, message", BAD_PERIODS)
def test_finding_10_audit_log_page_with_an_impossible_offset_shows_the_error(
    client, admin, dated_events, query, field, message
):
    client.force_login(admin)
    response = client.get(reverse("audit-log"), query)
    assert response.status_code == 400
    assert message in response.text
    assert list(response.context["page"]) == []


def test_finding_10_offsets_up_to_15_59_filter_by_the_instant_they_name(admin, client, dated_events):
    # 2024-01-02T03:00+15:00 is 2024-01-01T12:00Z: the bind, not the unbind.
    rows = api_as(admin).get("/api/v1/audit-events/", {"until": "2024-01-02T03:00:00+15:00"}).json()
    assert [row["action"] for row in rows["results"]] == ["space.bind"]
    rows = api_as(admin).get("/api/v1/audit-events/", {"since": "2024-01-01T20:00:00-15:59"}).json()
    assert [row["action"] for row in rows["results"]] == ["space.unbind"]
    client.force_login(admin)
    page = client.get(reverse("audit-log"), {"until": "2024-01-02T03:00:00+15:00"})
    assert page.status_code == 200
    assert [event.action for event in page.context["page"]] == ["space.bind"]


# Finding 14: whole numbers only, allowed methods only -------------------------------------


NOT_WHOLE_NUMBERS = ["١", "１", "1.0", 1.0, True, "1e0", " 1.5", "0x1", "²", [1], {"id": 1}]


@pytest.mark.parametrize("value", NOT_WHOLE_NUMBERS, ids=repr)
def test_finding_14_binding_a_space_takes_only_whole_numbers(admin, space, workspace, value):
    before = snapshot()
    response = api_as(admin).post(f"/api/v1/spaces/{space.pk}/bind/", {"workspaces": [value]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"workspaces": ["Workspace ids must be whole numbers."]}
    assert snapshot() == before


@pytest.mark.parametrize("value", NOT_WHOLE_NUMBERS, ids=repr)
def test_finding_14_binding_a_namespace_takes_only_whole_numbers(admin, unbound, workspace, value):
    before = snapshot()
    response = api_as(admin).patch(f"/api/v1/namespaces/{unbound.pk}/", {"workspace": value}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["workspace"]
    assert snapshot() == before


def test_finding_14_ids_as_json_integers_or_ascii_digit_strings_still_work(admin, unbound, workspace, space):
    response = api_as(admin).patch(
        f"/api/v1/namespaces/{unbound.pk}/", {"workspace": str(workspace.pk)}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["workspace"]["id"] == workspace.pk
    response = api_as(admin).post(
        f"/api/v1/spaces/{space.pk}/bind/", {"workspaces": [workspace.pk]}, format="json"
    )
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["١", "1.0", "²", "99999999999999999999999"])
def test_finding_14_other_api_ids_and_counts_refuse_what_is_not_a_whole_number(
    admin, ws_editor, namespace, value
):
    created = api_as(admin).post("/api/v1/namespaces/", {"cluster": value, "name": "team-x"}, format="json")
    assert created.status_code == 400 and list(created.json()) == ["cluster"]
    listed = api_as(admin).get("/api/v1/namespaces/", {"workspace": value})
    assert listed.status_code == 400 and list(listed.json()) == ["workspace"]
    picker = api_as(ws_editor).get(f"/api/v1/namespaces/{namespace.pk}/images/", {"registry": value})
    assert picker.status_code == 400 and list(picker.json()) == ["registry"]
    manifest = api_as(ws_editor).post(
        f"/api/v1/namespaces/{namespace.pk}/manifests/",
        {"name": "web", "image": "nginx", "replicas": value},
        format="json",
    )
    assert manifest.status_code == 400 and list(manifest.json()) == ["replicas"]


@pytest.mark.parametrize("value", ["١", "1.0", "²"])
def test_finding_14_pages_refuse_ids_in_other_scripts(client, admin, unbound, workspace, space, value):
    client.force_login(admin)
    before = snapshot()
    bind = client.post(reverse("workspaces:namespace-bind", args=[unbound.pk]), {"workspace": value})
    assert bind.status_code in (200, 400, 422)
    dialog = client.post(
        reverse("registries:space-bindings", args=[space.registry_id, space.pk]),
        {"workspaces": [value]},
        headers={"HX-Request": "true"},
    )
    assert dialog.status_code == 422
    assert "Workspace ids must be whole numbers." in dialog.text
    assert snapshot() == before
    assert client.get(reverse("registries:picker"), {"namespace": value}).status_code == 404
    assert client.get(reverse("registries:create-by-image"), {"namespace": value}).status_code == 200


def _routes_with_sample_args():
    for route in _all_routes():
        if route.startswith("admin/"):
            continue
        yield "/" + re.sub(r"<(?:\w+:)?\w+>", "1", route)


@pytest.mark.parametrize("path", sorted(set(_routes_with_sample_args())))
@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "FOO"])
def test_finding_14_odd_methods_answer_405_everywhere(admin, path, method):
    client = Client()
    client.force_login(admin)
    response = client.generic(method, path)
    assert response.status_code == 405, (method, path)


@pytest.mark.parametrize(
    "path", sorted(p for p in set(_routes_with_sample_args()) if not p.startswith("/api/"))
)
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_finding_14_pages_answer_only_get_and_post(admin, namespace, path, method):
    client = Client()
    if path != "/login/":  # the login page sends a signed-in user on before anything else
        client.force_login(admin)
    before = snapshot()
    response = client.generic(method, path)
    assert response.status_code == 405, (method, path)
    assert snapshot() == before

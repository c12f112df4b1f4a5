"""The clusters and namespaces API.

Only the Admin registers clusters and namespaces and binds a namespace to a workspace
(`PATCH {"workspace": id|null}`); everyone else reads the namespaces of their own workspaces,
and a namespace outside their scope answers 404. Every change is audited; bad input is a 400
on its field and changes nothing.
"""

import pytest
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from conftest import make_user
from portal.models import AuditEvent
from workspaces.api.views import NamespaceViewSet
from workspaces.models import Cluster, Namespace

NON_ADMINS = ["ws_admin", "ws_editor", "ws_viewer", "outsider"]
MEMBERS = ["ws_admin", "ws_editor", "ws_viewer"]
CLUSTERS = "/api/v1/clusters/"
NAMESPACES = "/api/v1/namespaces/"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def admin_api(api, admin):
    api.force_login(admin)
    return api


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="prod", description="Production")


@pytest.fixture
def ours(cluster, workspace):
    """A namespace bound to payments, the workspace of ws_admin, ws_editor and ws_viewer."""
    return Namespace.objects.create(cluster=cluster, name="payments-api", workspace=workspace)


@pytest.fixture
def theirs(cluster, other_workspace):
    """A namespace bound to search, the outsider's workspace."""
    return Namespace.objects.create(cluster=cluster, name="search-api", workspace=other_workspace)


@pytest.fixture
def unbound(cluster):
    return Namespace.objects.create(cluster=cluster, name="sandbox")


def detail(namespace_or_pk):
    return f"{NAMESPACES}{getattr(namespace_or_pk, 'pk', namespace_or_pk)}/"


def names(response):
    return [row["name"] for row in response.json()["results"]]


def snapshot():
    """Everything a call here might change, to prove a refused call changed nothing."""
    return {
        "clusters": sorted(Cluster.objects.values_list("pk", "name", "description")),
        "namespaces": sorted(Namespace.objects.values_list("pk", "cluster_id", "name", "workspace_id")),
        "audit": AuditEvent.objects.count(),
    }


def call(client, method, url, body=None):
    return getattr(client, method)(url, body, format="json")


def admin_only_endpoints(cluster, namespace, workspace):
    """(method, url, body) for each operation only the Admin may use."""
    return [
        ("get", CLUSTERS, None),
        ("post", CLUSTERS, {"name": "staging"}),
        ("get", f"{CLUSTERS}{cluster.pk}/", None),
        ("post", NAMESPACES, {"cluster": cluster.pk, "name": "new-ns"}),
        ("patch", detail(namespace), {"workspace": workspace.pk}),
        ("patch", detail(namespace), {"workspace": None}),
    ]


# Clusters ---------------------------------------------------------------------------------


def test_the_admin_lists_clusters_and_filters_them_by_name(admin_api, cluster):
    Cluster.objects.create(name="staging")
    response = admin_api.get(CLUSTERS)
    assert response.status_code == 200
    assert names(response) == ["prod", "staging"]
    assert response.json()["results"][0]["description"] == "Production"
    assert names(admin_api.get(CLUSTERS, {"name": "STAG"})) == ["staging"]


def test_the_admin_reads_one_cluster(admin_api, cluster):
    response = admin_api.get(f"{CLUSTERS}{cluster.pk}/")
    assert response.status_code == 200
    assert response.json()["name"] == "prod"
    assert admin_api.get(f"{CLUSTERS}999999/").status_code == 404


def test_the_admin_registers_a_cluster_and_it_is_audited(admin_api, admin):
    response = admin_api.post(CLUSTERS, {"name": "staging", "description": "Pre-production"}, format="json")
    assert response.status_code == 201
    cluster = Cluster.objects.get(name="staging")
    assert response.json()["id"] == cluster.pk
    assert cluster.description == "Pre-production"
    event = AuditEvent.objects.get(action="cluster.create")
    assert (event.actor, event.target_id, event.after) == (admin, str(cluster.pk), {"name": "staging"})


@pytest.mark.parametrize(
    "body, message",
    [
        ({"name": "Prod 2"}, "lowercase letters, digits and hyphens"),
        ({"name": "x" * 64}, "no more than 63 characters"),
        ({"name": ""}, "This field may not be blank."),
        ({}, "This field is required."),
        ({"name": "prod"}, "A cluster with this name already exists."),
    ],
)
def test_bad_cluster_names_are_refused_on_the_field(admin_api, cluster, body, message):
    before = snapshot()
    response = admin_api.post(CLUSTERS, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert message in " ".join(response.json()["name"])
    assert snapshot() == before


def test_clusters_are_not_changed_or_deleted_through_this_api(admin_api, cluster):
    assert admin_api.patch(f"{CLUSTERS}{cluster.pk}/", {"name": "renamed"}, format="json").status_code == 405
    assert admin_api.delete(f"{CLUSTERS}{cluster.pk}/").status_code == 405
    assert Cluster.objects.get(pk=cluster.pk).name == "prod"


# Roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", MEMBERS)
def test_members_may_not_register_clusters_or_namespaces_or_bind_them(
    api, request, persona, cluster, ours, workspace
):
    api.force_login(request.getfixturevalue(persona))
    before = snapshot()
    for method, url, body in admin_only_endpoints(cluster, ours, workspace):
        response = call(api, method, url, body)
        assert response.status_code == 403, (method, url, response.status_code)
        assert response.json() == {"detail": "Only a platform Admin may do this."}
    assert snapshot() == before


def test_a_role_failure_on_clusters_is_403_even_for_one_that_does_not_exist(api, ws_admin):
    api.force_login(ws_admin)
    assert api.get(f"{CLUSTERS}999999/").status_code == 403


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_a_namespace_outside_the_users_workspaces_answers_404_even_to_a_bind(
    api, request, persona, theirs, unbound, workspace
):
    user = request.getfixturevalue(persona)
    api.force_login(user)
    outside = [unbound] if persona == "outsider" else [theirs, unbound]
    before = snapshot()
    for namespace in outside:
        assert api.get(detail(namespace)).status_code == 404
        response = api.patch(detail(namespace), {"workspace": workspace.pk}, format="json")
        assert response.status_code == 404, (persona, namespace.name)
    assert snapshot() == before


def test_anonymous_is_asked_to_authenticate_on_every_endpoint(api, cluster, ours, workspace):
    before = snapshot()
    endpoints = [
        *admin_only_endpoints(cluster, ours, workspace),
        ("get", NAMESPACES, None),
        ("get", detail(ours), None),
    ]
    for method, url, body in endpoints:
        response = call(api, method, url, body)
        assert response.status_code == 401, (method, url)
        assert response["WWW-Authenticate"] == "Token"
    assert snapshot() == before


# Listing and reading namespaces -----------------------------------------------------------


def test_the_admin_lists_every_namespace_bound_or_not(admin_api, ours, theirs, unbound, workspace):
    response = admin_api.get(NAMESPACES)
    assert response.status_code == 200
    assert names(response) == ["payments-api", "sandbox", "search-api"]
    rows = {row["name"]: row for row in response.json()["results"]}
    assert rows["payments-api"]["workspace"] == {"id": workspace.pk, "name": "payments"}
    assert rows["payments-api"]["cluster"] == {"id": ours.cluster_id, "name": "prod"}
    assert rows["sandbox"]["workspace"] is None


@pytest.mark.parametrize("persona", MEMBERS)
def test_members_list_only_the_namespaces_of_their_workspace(api, request, persona, ours, theirs, unbound):
    api.force_login(request.getfixturevalue(persona))
    assert names(api.get(NAMESPACES)) == ["payments-api"]


def test_the_outsider_lists_only_the_namespaces_of_their_own_workspace(api, outsider, ours, theirs, unbound):
    api.force_login(outsider)
    assert names(api.get(NAMESPACES)) == ["search-api"]


def test_a_user_without_workspaces_lists_no_namespace(api, ours, unbound):
    api.force_login(make_user("loner"))
    response = api.get(NAMESPACES)
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_member_of_two_workspaces_lists_the_namespaces_of_both_once(
    api, ours, theirs, unbound, workspace, other_workspace
):
    user = make_user("both", workspace=workspace, role="viewer")
    user.memberships.create(workspace=other_workspace, role="editor")
    api.force_login(user)
    assert names(api.get(NAMESPACES)) == ["payments-api", "search-api"]


@pytest.mark.parametrize("persona", MEMBERS)
def test_members_read_a_namespace_of_their_workspace(api, request, persona, ours, workspace):
    api.force_login(request.getfixturevalue(persona))
    response = api.get(detail(ours))
    assert response.status_code == 200
    assert response.json() == {
        "id": ours.pk,
        "cluster": {"id": ours.cluster_id, "name": "prod"},
        "name": "payments-api",
        "workspace": {"id": workspace.pk, "name": "payments"},
        "created": response.json()["created"],
    }


def test_an_unknown_namespace_is_404(admin_api, db):
    assert admin_api.get(detail(999999)).status_code == 404
    assert admin_api.patch(detail(999999), {"workspace": None}, format="json").status_code == 404


def test_the_namespace_list_filters_like_the_page(admin_api, ours, theirs, unbound, cluster, workspace):
    other_cluster = Cluster.objects.create(name="edge")
    Namespace.objects.create(cluster=other_cluster, name="edge-cache")

    def listed(**query):
        response = admin_api.get(NAMESPACES, query)
        assert response.status_code == 200, response.json()
        return names(response)

    assert listed(q="API") == ["payments-api", "search-api"]
    assert listed(q="edge") == ["edge-cache"]  # the cluster's name matches too
    assert listed(bound="true") == ["payments-api", "search-api"]
    assert listed(bound="false") == ["edge-cache", "sandbox"]
    assert listed(cluster=other_cluster.pk) == ["edge-cache"]
    assert listed(workspace=workspace.pk) == ["payments-api"]
    assert listed(workspace=999999) == []


@pytest.mark.parametrize("query", [{"cluster": "1.5"}, {"workspace": "abc"}, {"bound": "maybe"}])
def test_bad_namespace_filters_are_a_400_on_the_filter(admin_api, ours, query):
    response = admin_api.get(NAMESPACES, query)
    assert response.status_code == 400
    assert list(response.json()) == list(query)


def test_a_member_filtering_by_another_workspace_sees_nothing_of_it(api, ws_viewer, theirs, other_workspace):
    api.force_login(ws_viewer)
    assert names(api.get(NAMESPACES, {"workspace": other_workspace.pk})) == []


def test_the_namespace_list_query_count_does_not_grow_with_the_namespaces(
    admin_api, cluster, workspace, django_assert_max_num_queries
):
    def fill(start, count):
        Namespace.objects.bulk_create(
            Namespace(cluster=cluster, name=f"ns-{i:03d}", workspace=workspace)
            for i in range(start, start + count)
        )

    fill(0, 3)
    with django_assert_max_num_queries(8) as few:
        admin_api.get(NAMESPACES)
    fill(3, 40)
    with django_assert_max_num_queries(8) as many:
        assert len(admin_api.get(NAMESPACES).json()["results"]) == 43
    assert len(many.captured_queries) == len(few.captured_queries)


# Registering namespaces -------------------------------------------------------------------


def test_the_admin_registers_an_unbound_namespace_and_it_is_audited(admin_api, admin, cluster):
    response = admin_api.post(NAMESPACES, {"cluster": cluster.pk, "name": "team-x"}, format="json")
    assert response.status_code == 201
    namespace = Namespace.objects.get(name="team-x")
    assert response.json()["id"] == namespace.pk
    assert response.json()["workspace"] is None
    assert namespace.cluster == cluster and namespace.workspace is None
    event = AuditEvent.objects.get(action="namespace.create")
    assert (event.actor, event.target_label, event.after) == (admin, "prod/team-x", {"workspace": None})


def test_the_admin_registers_a_namespace_bound_to_a_workspace_at_once(admin_api, cluster, workspace):
    response = admin_api.post(
        NAMESPACES, {"cluster": cluster.pk, "name": "team-x", "workspace": workspace.pk}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["workspace"] == {"id": workspace.pk, "name": "payments"}
    assert Namespace.objects.get(name="team-x").workspace == workspace
    assert AuditEvent.objects.get(action="namespace.create").after == {"workspace": "payments"}


def test_the_same_name_may_be_used_in_another_cluster(admin_api, ours):
    edge = Cluster.objects.create(name="edge")
    response = admin_api.post(NAMESPACES, {"cluster": edge.pk, "name": "payments-api"}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"name": "Team X"}, "name", "lowercase letters, digits and hyphens"),
        ({"name": "x" * 64}, "name", "no more than 63 characters"),
        ({"name": ""}, "name", "This field may not be blank."),
        ({"name": "payments-api"}, "name", "Cluster prod already has a namespace payments-api."),
        ({"cluster": None, "name": "team-x"}, "cluster", "This field may not be null."),
        ({"cluster": 999999, "name": "team-x"}, "cluster", "There is no cluster with id 999999."),
        ({"cluster": "prod", "name": "team-x"}, "cluster", "A valid integer is required."),
        ({"cluster": 1.5, "name": "team-x"}, "cluster", "A valid integer is required."),
        ({"workspace": 999999, "name": "team-x"}, "workspace", "There is no workspace with id 999999."),
        ({"workspace": True, "name": "team-x"}, "workspace", "A valid integer is required."),
    ],
)
def test_bad_namespaces_are_refused_on_the_field(admin_api, ours, body, field, message):
    body = {"cluster": ours.cluster_id, **body}
    before = snapshot()
    response = admin_api.post(NAMESPACES, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert message in " ".join(response.json()[field])
    assert snapshot() == before


def test_a_namespace_without_cluster_or_name_is_refused_on_both_fields(admin_api, db):
    response = admin_api.post(NAMESPACES, {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"cluster": ["This field is required."], "name": ["This field is required."]}
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_nobody_else_registers_namespaces(api, request, persona, cluster, workspace):
    api.force_login(request.getfixturevalue(persona))
    response = api.post(
        NAMESPACES, {"cluster": cluster.pk, "name": "team-x", "workspace": workspace.pk}, format="json"
    )
    assert response.status_code == 403
    assert not Namespace.objects.exists()
    assert not AuditEvent.objects.exists()


# Binding and unbinding --------------------------------------------------------------------


def bind(client, namespace, workspace):
    return client.patch(detail(namespace), {"workspace": getattr(workspace, "pk", workspace)}, format="json")


def test_the_admin_binds_an_unbound_namespace_and_it_is_audited(admin_api, admin, unbound, workspace):
    response = bind(admin_api, unbound, workspace)
    assert response.status_code == 200
    assert response.json()["workspace"] == {"id": workspace.pk, "name": "payments"}
    unbound.refresh_from_db()
    assert unbound.workspace == workspace
    event = AuditEvent.objects.get(action="namespace.bind")
    assert event.actor == admin
    assert event.target_label == "prod/sandbox"
    assert (event.before, event.after) == ({"workspace": None}, {"workspace": "payments"})


def test_the_members_of_the_workspace_then_see_the_namespace(admin_api, api, ws_viewer, unbound, workspace):
    bind(admin_api, unbound, workspace)
    api.force_login(ws_viewer)
    assert api.get(detail(unbound)).status_code == 200


def test_the_admin_unbinds_a_namespace_with_null_and_it_is_audited(admin_api, ours):
    response = bind(admin_api, ours, None)
    assert response.status_code == 200
    assert response.json()["workspace"] is None
    ours.refresh_from_db()
    assert ours.workspace is None
    event = AuditEvent.objects.get(action="namespace.unbind")
    assert (event.before, event.after) == ({"workspace": "payments"}, {"workspace": None})


def test_an_unbound_namespace_leaves_the_members_scope(admin_api, api, ws_editor, ours):
    bind(admin_api, ours, None)
    api.force_login(ws_editor)
    assert api.get(detail(ours)).status_code == 404
    assert names(api.get(NAMESPACES)) == []


def test_a_namespace_in_another_workspace_is_refused_with_a_message_naming_it(admin_api, theirs, workspace):
    before = snapshot()
    response = bind(admin_api, theirs, workspace)
    assert response.status_code == 400
    assert response.json() == {
        "workspace": ["Namespace prod/search-api already belongs to workspace search; unbind it first."]
    }
    assert snapshot() == before


def test_unbind_then_bind_moves_a_namespace_to_another_workspace(admin_api, theirs, workspace):
    assert bind(admin_api, theirs, None).status_code == 200
    assert bind(admin_api, theirs, workspace).status_code == 200
    theirs.refresh_from_db()
    assert theirs.workspace == workspace
    assert list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)) == [
        "namespace.unbind",
        "namespace.bind",
    ]


@pytest.mark.parametrize("fixture, target", [("ours", "workspace"), ("unbound", None)])
def test_binding_to_where_it_already_is_changes_nothing_and_writes_no_event(
    admin_api, request, fixture, target
):
    namespace = request.getfixturevalue(fixture)
    response = bind(admin_api, namespace, request.getfixturevalue(target) if target else None)
    assert response.status_code == 200
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "This field is required."),
        ({"name": "renamed"}, "This field is required."),
        ({"workspace": 999999}, "There is no workspace with id 999999."),
        ({"workspace": "payments"}, "A valid integer is required."),
        ({"workspace": 1.5}, "A valid integer is required."),
        ({"workspace": True}, "A valid integer is required."),
        ({"workspace": [1]}, "A valid integer is required."),
    ],
)
def test_a_bad_bind_request_is_refused_on_the_field(admin_api, unbound, body, message):
    before = snapshot()
    response = admin_api.patch(detail(unbound), body, format="json")
    assert response.status_code == 400
    assert response.json() == {"workspace": [message]}
    assert snapshot() == before


@pytest.mark.parametrize("persona", MEMBERS)
def test_members_may_not_bind_or_unbind_the_namespaces_they_see(api, request, persona, ours, other_workspace):
    api.force_login(request.getfixturevalue(persona))
    before = snapshot()
    for target in (None, other_workspace.pk):
        response = bind(api, ours, target)
        assert response.status_code == 403
        assert response.json() == {"detail": "Only a platform Admin may do this."}
    assert snapshot() == before


def test_namespaces_are_not_replaced_or_deleted_through_this_api(admin_api, ours, workspace):
    assert admin_api.put(detail(ours), {"workspace": None}, format="json").status_code == 405
    assert admin_api.delete(detail(ours)).status_code == 405
    assert Namespace.objects.get(pk=ours.pk).workspace == workspace


# Routes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/namespaces/1/images/",
        "/api/v1/namespaces/1/images/2/tags/",
        "/api/v1/namespaces/1/explain/",
        "/api/v1/namespaces/1/manifests/",
        "/api/v1/namespaces/1/pull-secret/",
    ],
)
def test_the_namespace_routes_leave_the_pickers_nested_routes_alone(path):
    try:
        match = resolve(path)
    except Resolver404:
        return  # not registered yet: nothing here catches it either
    assert getattr(match.func, "cls", None) is not NamespaceViewSet

"""The REST API for registries, registry spaces, bindings and the audit log.

Same rules as the pages: Admin only (everyone else 403, anonymous 401), platform registries
only (anything else 404), every write through registries.services, bad input a 400 with the
message on its field and no change at all.
"""

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from portal.models import AuditEvent
from registries import services
from registries.kinds.harbor.tests.harbor_double import ADMIN_PASSWORD, ADMIN_USER
from registries.models import Registry, RegistrySpace, SpaceBinding, SyncRun
from testkit.factories import make_space
from workspaces.models import Workspace

NON_ADMINS = ["ws_admin", "ws_editor", "ws_viewer", "outsider"]


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def admin_api(api, admin):
    api.force_login(admin)
    return api


@pytest.fixture
def demo_registry(db):
    """A registry that is never contacted, for tests that are not about the registry."""
    return Registry.objects.create(name="demo", kind="harbor", url="https://harbor.example.com", is_demo=True)


@pytest.fixture
def harbor_registry(db, harbor_double, admin):
    registry = Registry(name="harbor-main", kind="harbor", url=harbor_double.url, username=ADMIN_USER)
    services.save_registry(registry, admin, password=ADMIN_PASSWORD)
    AuditEvent.objects.all().delete()
    return registry


@pytest.fixture
def space(demo_registry):
    return RegistrySpace.objects.create(registry=demo_registry, name="team-a", visibility="private")


@pytest.fixture
def workspace_registry(workspace):
    """A registry integrated by a workspace: outside the Admin API's scope."""
    return Registry.objects.create(
        name="ws-reg",
        kind="harbor",
        url="https://ws.example.com",
        scope="workspace",
        workspace=workspace,
        is_demo=True,
    )


def registry_data(double, **overrides):
    data = {
        "kind": "harbor",
        "name": "harbor-main",
        "url": double.url,
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "verify_tls": True,
        "ca_bundle": "",
    }
    data.update(overrides)
    return data


def snapshot():
    """Everything an API call might change, to prove a refused call changed nothing."""
    return {
        "registries": list(
            Registry.objects.values_list("pk", "name", "url", "username", "password_encrypted", "status")
        ),
        "spaces": list(RegistrySpace.objects.values_list("pk", "name", "visibility")),
        "bindings": list(SpaceBinding.objects.values_list("space_id", "workspace_id")),
        "workspaces": Workspace.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def every_endpoint(registry, space):
    """(method, url, body) for each operation of this API."""
    return [
        ("get", "/api/v1/registries/", None),
        # Port 9 on loopback refuses at once, should a connection check ever get that far.
        ("post", "/api/v1/registries/", {"kind": "harbor", "name": "new", "url": "http://127.0.0.1:9"}),
        ("get", f"/api/v1/registries/{registry.pk}/", None),
        (
            "put",
            f"/api/v1/registries/{registry.pk}/",
            {"kind": "harbor", "name": "renamed", "url": "https://x.example.com"},
        ),
        ("patch", f"/api/v1/registries/{registry.pk}/", {"name": "renamed"}),
        ("delete", f"/api/v1/registries/{registry.pk}/", None),
        ("post", f"/api/v1/registries/{registry.pk}/sync/", None),
        ("get", f"/api/v1/registries/{registry.pk}/spaces/", None),
        ("post", f"/api/v1/registries/{registry.pk}/spaces/", {"name": "new-space"}),
        ("get", f"/api/v1/spaces/{space.pk}/", None),
        ("patch", f"/api/v1/spaces/{space.pk}/", {"visibility": "public"}),
        ("delete", f"/api/v1/spaces/{space.pk}/", None),
        ("post", f"/api/v1/spaces/{space.pk}/bind/", {"workspaces": [Workspace.objects.first().pk]}),
        ("post", f"/api/v1/spaces/{space.pk}/unbind/", {"workspaces": [Workspace.objects.first().pk]}),
        ("get", "/api/v1/audit-events/", None),
    ]


def call(client, method, url, body=None):
    return getattr(client, method)(url, body, format="json")


# Roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_every_endpoint_is_forbidden_to_everyone_but_the_admin(api, request, persona, space):
    api.force_login(request.getfixturevalue(persona))
    SpaceBinding.objects.create(space=space, workspace=Workspace.objects.first())
    before = snapshot()
    for method, url, body in every_endpoint(space.registry, space):
        response = call(api, method, url, body)
        assert response.status_code == 403, (method, url, response.status_code)
        assert response.json() == {"detail": "Only a platform Admin may do this."}
    assert snapshot() == before


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_a_role_failure_is_403_even_for_an_object_that_does_not_exist(api, request, persona):
    api.force_login(request.getfixturevalue(persona))
    assert api.get("/api/v1/registries/999999/").status_code == 403
    assert api.get("/api/v1/spaces/999999/").status_code == 403


def test_anonymous_is_asked_to_authenticate_on_every_endpoint(api, space, workspace):
    before = snapshot()
    for method, url, body in every_endpoint(space.registry, space):
        response = call(api, method, url, body)
        assert response.status_code == 401, (method, url)
        assert response["WWW-Authenticate"] == "Token"
    assert snapshot() == before


def test_the_admin_passes_the_role_check_on_every_endpoint(admin_api, space, workspace):
    SpaceBinding.objects.create(space=space, workspace=workspace)
    for method, url, body in every_endpoint(space.registry, space):
        if method == "delete":
            continue  # deletes have their own tests; here they would end the walk early
        # 400s are fine here (a demo registry cannot sync, port 9 does not answer): the tests
        # below check each outcome; this one proves the Admin is never refused for the role.
        status = call(admin_api, method, url, body).status_code
        assert status in {200, 201, 400}, (method, url, status)


# Registries -------------------------------------------------------------------------------


def test_admin_lists_platform_registries_without_passwords(
    admin_api, harbor_registry, demo_registry, workspace_registry
):
    make_space(harbor_registry, "one")
    response = admin_api.get("/api/v1/registries/")
    assert response.status_code == 200
    body = response.json()
    assert [row["name"] for row in body["results"]] == ["demo", "harbor-main"]
    harbor = body["results"][1]
    assert harbor["space_count"] == 1
    assert harbor["has_password"] is True
    assert harbor["status"] == "healthy"
    assert "password" not in harbor and "password_encrypted" not in harbor
    assert ADMIN_PASSWORD not in response.text
    assert harbor_registry.password_encrypted not in response.text


def test_registry_list_filters_by_name(admin_api, harbor_registry, demo_registry):
    response = admin_api.get("/api/v1/registries/", {"name": "HARB"})
    assert [row["name"] for row in response.json()["results"]] == ["harbor-main"]


def test_admin_integrates_a_harbor_after_the_connection_check(admin_api, admin, harbor_double):
    harbor_double.add_project("team-a")
    response = admin_api.post("/api/v1/registries/", registry_data(harbor_double), format="json")
    assert response.status_code == 201, response.json()
    assert ADMIN_PASSWORD not in response.text
    registry = Registry.objects.get(name="harbor-main")
    assert response.json()["id"] == registry.pk
    assert registry.scope == "platform"
    assert registry.get_password() == ADMIN_PASSWORD
    assert registry.status == "healthy"
    assert harbor_double.requests_to("/api/v2.0/users/current")
    event = AuditEvent.objects.get(action="registry.create")
    assert event.actor == admin
    assert ADMIN_PASSWORD not in str(event.after)
    # As on the page, integrating starts a sync (the immediate backend has already run it).
    assert SyncRun.objects.filter(registry=registry).exists()
    assert RegistrySpace.objects.filter(registry=registry, name="team-a").exists()


def test_wrong_password_is_a_400_with_the_clients_message_and_saves_nothing(admin_api, harbor_double):
    expected = Registry(name="x", kind="harbor", url=harbor_double.url, username=ADMIN_USER)
    expected.set_password("wrong-pw")
    with pytest.raises(services.ServiceError) as refusal:
        services.check_connection(expected)

    response = admin_api.post(
        "/api/v1/registries/", registry_data(harbor_double, password="wrong-pw"), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [refusal.value.message]}
    assert "wrong-pw" not in response.text
    assert not Registry.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"name": "Bad Name"}, "name", "lowercase letters, digits and hyphens"),
        ({"name": ""}, "name", "This field may not be blank."),
        ({"url": "ftp://harbor.example.com"}, "url", "Enter an http:// or https:// address."),
        ({"kind": "quay"}, "kind", '"quay" is not a valid choice.'),
        ({"ca_bundle": "not a certificate"}, "ca_bundle", "Paste one or more PEM certificates"),
        (
            {"ca_bundle": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"},
            "ca_bundle",
            "This CA bundle is not a valid PEM certificate.",
        ),
        ({"verify_tls": "maybe"}, "verify_tls", "Must be a valid boolean."),
    ],
)
def test_bad_registry_input_is_refused_on_its_field(admin_api, harbor_double, overrides, field, message):
    response = admin_api.post("/api/v1/registries/", registry_data(harbor_double, **overrides), format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not Registry.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not harbor_double.requests_to("/api/v2.0/users/current")


def test_a_missing_name_is_required(admin_api, harbor_double):
    data = registry_data(harbor_double)
    del data["name"]
    response = admin_api.post("/api/v1/registries/", data, format="json")
    assert response.json() == {"name": ["This field is required."]}


def test_duplicate_registry_name_is_refused_on_the_field(admin_api, harbor_double, harbor_registry):
    response = admin_api.post("/api/v1/registries/", registry_data(harbor_double), format="json")
    assert response.status_code == 400
    assert response.json() == {"name": ["A registry with this name already exists."]}
    assert Registry.objects.count() == 1
    assert not AuditEvent.objects.exists()


def test_admin_reads_one_registry(admin_api, harbor_registry):
    response = admin_api.get(f"/api/v1/registries/{harbor_registry.pk}/")
    assert response.status_code == 200
    assert response.json()["url"] == harbor_registry.url
    assert "password" not in response.json()


def test_a_workspace_registry_is_out_of_scope_for_the_admin_api(admin_api, workspace_registry):
    assert admin_api.get(f"/api/v1/registries/{workspace_registry.pk}/").status_code == 404
    assert admin_api.get(f"/api/v1/registries/{workspace_registry.pk}/spaces/").status_code == 404
    assert admin_api.delete(f"/api/v1/registries/{workspace_registry.pk}/").status_code == 404
    space = RegistrySpace.objects.create(registry=workspace_registry, name="theirs")
    assert admin_api.get(f"/api/v1/spaces/{space.pk}/").status_code == 404
    assert Registry.objects.filter(pk=workspace_registry.pk).exists()


def test_an_unknown_registry_is_404(admin_api, db):
    assert admin_api.get("/api/v1/registries/999999/").status_code == 404
    assert admin_api.get("/api/v1/registries/999999/spaces/").status_code == 404
    assert admin_api.post("/api/v1/registries/999999/sync/").status_code == 404


@pytest.mark.parametrize(
    "method, body",
    [
        ("patch", {"username": ADMIN_USER}),
        ("patch", {"username": ADMIN_USER, "password": ""}),
        ("put", {"kind": "harbor", "name": "harbor-main", "username": ADMIN_USER, "verify_tls": True}),
    ],
)
def test_update_without_a_password_keeps_the_stored_one(
    admin_api, harbor_registry, harbor_double, method, body
):
    if method == "put":
        body = {**body, "url": harbor_double.url}
    response = call(admin_api, method, f"/api/v1/registries/{harbor_registry.pk}/", body)
    assert response.status_code == 200, response.json()
    harbor_registry.refresh_from_db()
    assert harbor_registry.get_password() == ADMIN_PASSWORD
    assert AuditEvent.objects.get(action="registry.update").after.get("password") is None


def test_update_checks_the_connection_and_keeps_everything_when_it_fails(admin_api, harbor_registry):
    before = snapshot()
    response = admin_api.patch(
        f"/api/v1/registries/{harbor_registry.pk}/",
        {"password": "wrong-pw", "username": "someone"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert "wrong-pw" not in response.text
    assert snapshot() == before
    harbor_registry.refresh_from_db()
    assert harbor_registry.get_password() == ADMIN_PASSWORD


def test_update_with_a_new_password_stores_it_and_audits_that_it_changed(
    admin_api, harbor_registry, harbor_double
):
    harbor_double.users[ADMIN_USER].password = "N3w-secret"
    response = admin_api.patch(
        f"/api/v1/registries/{harbor_registry.pk}/", {"password": "N3w-secret"}, format="json"
    )
    assert response.status_code == 200
    harbor_registry.refresh_from_db()
    assert harbor_registry.get_password() == "N3w-secret"
    event = AuditEvent.objects.get(action="registry.update")
    assert event.after["password"] == "***"
    assert "N3w-secret" not in str(event.after)


def test_the_kind_of_a_registry_cannot_be_changed(admin_api, harbor_registry):
    response = admin_api.patch(
        f"/api/v1/registries/{harbor_registry.pk}/", {"kind": "distribution"}, format="json"
    )
    assert response.status_code == 400
    assert "cannot be changed" in response.json()["kind"][0]
    harbor_registry.refresh_from_db()
    assert harbor_registry.kind == "harbor"


def test_the_status_of_a_registry_is_read_only(admin_api, demo_registry):
    admin_api.patch(
        f"/api/v1/registries/{demo_registry.pk}/", {"status": "unhealthy", "is_demo": False}, format="json"
    )
    demo_registry.refresh_from_db()
    assert demo_registry.status == "healthy" and demo_registry.is_demo


def test_admin_removes_a_registry_with_its_spaces_and_bindings(admin_api, admin, space, workspace):
    SpaceBinding.objects.create(space=space, workspace=workspace)
    response = admin_api.delete(f"/api/v1/registries/{space.registry.pk}/")
    assert response.status_code == 204
    assert not Registry.objects.exists()
    assert not RegistrySpace.objects.exists() and not SpaceBinding.objects.exists()
    event = AuditEvent.objects.get(action="registry.delete")
    assert event.actor == admin and event.before["bindings"] == 1
    assert Workspace.objects.filter(pk=workspace.pk).exists()


def test_sync_now_is_accepted_and_runs(admin_api, harbor_registry, harbor_double):
    harbor_double.add_project("team-b")
    response = admin_api.post(f"/api/v1/registries/{harbor_registry.pk}/sync/")
    assert response.status_code == 202
    assert response.json() == {"detail": "Sync of harbor-main started."}
    assert SyncRun.objects.filter(registry=harbor_registry).exists()
    assert RegistrySpace.objects.filter(registry=harbor_registry, name="team-b").exists()


def test_a_demo_registry_is_never_synced(admin_api, demo_registry):
    response = admin_api.post(f"/api/v1/registries/{demo_registry.pk}/sync/")
    assert response.status_code == 400
    assert "never contacted" in response.json()["non_field_errors"][0]
    assert not SyncRun.objects.exists()


def test_sync_needs_a_post(admin_api, demo_registry):
    assert admin_api.get(f"/api/v1/registries/{demo_registry.pk}/sync/").status_code == 405


# Registry spaces --------------------------------------------------------------------------


def test_space_list_shows_each_space_with_its_bound_workspaces(
    admin_api, demo_registry, workspace, other_workspace
):
    bound = RegistrySpace.objects.create(registry=demo_registry, name="bound", visibility="private")
    RegistrySpace.objects.create(registry=demo_registry, name="lonely", visibility="public")
    for target in (other_workspace, workspace):
        SpaceBinding.objects.create(space=bound, workspace=target)
    response = admin_api.get(f"/api/v1/registries/{demo_registry.pk}/spaces/")
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()["results"]}
    assert rows["bound"]["workspaces"] == [
        {"id": workspace.pk, "name": "payments"},
        {"id": other_workspace.pk, "name": "search"},
    ]
    assert rows["lonely"]["workspaces"] == []
    assert rows["lonely"]["visibility"] == "public"
    assert rows["bound"]["registry"] == demo_registry.pk


def test_space_list_filters_by_name_and_type(admin_api, demo_registry):
    for name, visibility in [("team-a", "private"), ("team-b", "public"), ("infra", "private")]:
        RegistrySpace.objects.create(registry=demo_registry, name=name, visibility=visibility)
    url = f"/api/v1/registries/{demo_registry.pk}/spaces/"

    def names(**query):
        return [row["name"] for row in admin_api.get(url, query).json()["results"]]

    assert names(name="TEAM") == ["team-a", "team-b"]
    assert names(visibility="private") == ["infra", "team-a"]
    assert names(name="team", visibility="public") == ["team-b"]
    bad = admin_api.get(url, {"visibility": "secret"})
    assert bad.status_code == 400 and "visibility" in bad.json()


def test_space_list_shows_only_that_registrys_spaces(admin_api, demo_registry):
    other = Registry.objects.create(name="other", kind="harbor", url="https://o.example.com", is_demo=True)
    RegistrySpace.objects.create(registry=other, name="elsewhere")
    RegistrySpace.objects.create(registry=demo_registry, name="here")
    response = admin_api.get(f"/api/v1/registries/{demo_registry.pk}/spaces/")
    assert [row["name"] for row in response.json()["results"]] == ["here"]


def test_space_list_query_count_does_not_grow_with_the_spaces(
    admin_api, demo_registry, django_assert_max_num_queries
):
    workspaces = Workspace.objects.bulk_create(Workspace(name=f"ws-{i}") for i in range(10))
    url = f"/api/v1/registries/{demo_registry.pk}/spaces/"

    def fill(start, count):
        for i in range(start, start + count):
            space = RegistrySpace.objects.create(registry=demo_registry, name=f"space-{i:03d}")
            SpaceBinding.objects.bulk_create(SpaceBinding(space=space, workspace=w) for w in workspaces[:3])

    fill(0, 5)
    with django_assert_max_num_queries(8) as few:
        assert len(admin_api.get(url).json()["results"]) == 5
    fill(5, 45)
    with django_assert_max_num_queries(8) as many:
        assert len(admin_api.get(url).json()["results"]) == 50
    assert len(many.captured_queries) == len(few.captured_queries)


def test_admin_creates_a_registry_space_in_harbor(admin_api, admin, harbor_registry, harbor_double):
    response = admin_api.post(
        f"/api/v1/registries/{harbor_registry.pk}/spaces/",
        {"name": "team-x", "visibility": "private"},
        format="json",
    )
    assert response.status_code == 201
    space = RegistrySpace.objects.get(name="team-x")
    assert response.json()["id"] == space.pk
    assert response.json()["workspaces"] == []
    assert harbor_double.projects["team-x"].public is False
    assert space.upstream_id
    assert AuditEvent.objects.get(action="space.create").actor == admin


def test_a_new_space_is_private_unless_asked(admin_api, demo_registry):
    response = admin_api.post(
        f"/api/v1/registries/{demo_registry.pk}/spaces/", {"name": "quiet"}, format="json"
    )
    assert response.json()["visibility"] == "private"


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"name": "Team X"}, "name", "lowercase letters"),
        ({"name": "x" * 64}, "name", "no more than 63 characters"),
        ({}, "name", "This field is required."),
        ({"name": "ok-name", "visibility": "secret"}, "visibility", '"secret" is not a valid choice.'),
    ],
)
def test_bad_space_input_is_refused_on_its_field(
    admin_api, harbor_registry, harbor_double, body, field, message
):
    projects = set(harbor_double.projects)
    response = admin_api.post(f"/api/v1/registries/{harbor_registry.pk}/spaces/", body, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not RegistrySpace.objects.exists()
    assert not AuditEvent.objects.exists()
    assert set(harbor_double.projects) == projects


def test_a_duplicate_space_name_is_refused_on_the_name(admin_api, space):
    response = admin_api.post(
        f"/api/v1/registries/{space.registry.pk}/spaces/", {"name": "team-a"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"name": ["This registry already has a space of that name."]}
    assert RegistrySpace.objects.count() == 1


def test_a_space_harbor_refuses_to_create_is_a_400_with_its_message(
    admin_api, harbor_registry, harbor_double
):
    harbor_double.add_project("taken")  # in Harbor, not yet in Wharf
    response = admin_api.post(
        f"/api/v1/registries/{harbor_registry.pk}/spaces/", {"name": "taken"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["non_field_errors"]
    assert not RegistrySpace.objects.exists()
    assert not AuditEvent.objects.exists()


def test_admin_reads_a_space_with_its_bound_workspaces(admin_api, space, workspace):
    SpaceBinding.objects.create(space=space, workspace=workspace)
    response = admin_api.get(f"/api/v1/spaces/{space.pk}/")
    assert response.status_code == 200
    assert response.json()["name"] == "team-a"
    assert response.json()["workspaces"] == [{"id": workspace.pk, "name": "payments"}]


def test_an_unknown_space_is_404(admin_api, db):
    assert admin_api.get("/api/v1/spaces/999999/").status_code == 404
    response = admin_api.post("/api/v1/spaces/999999/bind/", {"workspaces": [1]}, format="json")
    assert response.status_code == 404


def test_make_public_is_written_to_harbor_then_stored(admin_api, harbor_registry, harbor_double):
    harbor_double.add_project("team-y", public=False)
    space = RegistrySpace.objects.create(registry=harbor_registry, name="team-y", visibility="private")
    response = admin_api.patch(f"/api/v1/spaces/{space.pk}/", {"visibility": "public"}, format="json")
    assert response.status_code == 200
    assert response.json()["visibility"] == "public"
    assert harbor_double.projects["team-y"].public is True
    space.refresh_from_db()
    assert space.visibility == "public"
    event = AuditEvent.objects.get(action="space.visibility")
    assert event.before == {"visibility": "private"} and event.after == {"visibility": "public"}


@pytest.mark.parametrize(
    "body, message",
    [
        ({"visibility": "secret"}, '"secret" is not a valid choice.'),
        ({}, "This field is required."),
        ({"name": "renamed"}, "This field is required."),
    ],
)
def test_bad_visibility_is_refused_on_the_field(admin_api, space, body, message):
    response = admin_api.patch(f"/api/v1/spaces/{space.pk}/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"visibility": [message]}
    space.refresh_from_db()
    assert (space.name, space.visibility) == ("team-a", "private")
    assert not AuditEvent.objects.exists()


def test_a_visibility_change_harbor_refuses_is_not_stored(admin_api, harbor_registry):
    space = RegistrySpace.objects.create(registry=harbor_registry, name="gone", visibility="private")
    response = admin_api.patch(f"/api/v1/spaces/{space.pk}/", {"visibility": "public"}, format="json")
    assert response.status_code == 400
    assert response.json()["non_field_errors"]
    space.refresh_from_db()
    assert space.visibility == "private"
    assert not AuditEvent.objects.exists()


def test_a_space_cannot_be_replaced_with_put(admin_api, space):
    assert (
        admin_api.put(f"/api/v1/spaces/{space.pk}/", {"visibility": "public"}, format="json").status_code
        == 405
    )


def test_admin_deletes_an_empty_space_in_harbor_too(admin_api, harbor_registry, harbor_double):
    harbor_double.add_project("empty-one")
    space = RegistrySpace.objects.create(registry=harbor_registry, name="empty-one")
    response = admin_api.delete(f"/api/v1/spaces/{space.pk}/")
    assert response.status_code == 204
    assert "empty-one" not in harbor_double.projects
    assert not RegistrySpace.objects.filter(pk=space.pk).exists()
    assert AuditEvent.objects.filter(action="space.delete").count() == 1


def test_a_space_that_holds_images_is_not_deleted(admin_api, space):
    space.repository_count = 3
    space.save()
    response = admin_api.delete(f"/api/v1/spaces/{space.pk}/")
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Only empty registry spaces can be deleted; this one holds images."]
    }
    assert RegistrySpace.objects.filter(pk=space.pk).exists()
    assert not AuditEvent.objects.exists()


# Bind / unbind ----------------------------------------------------------------------------


def bind(client, space, ids, action="bind"):
    return client.post(f"/api/v1/spaces/{space.pk}/{action}/", {"workspaces": ids}, format="json")


def test_bind_adds_workspaces_answers_the_diff_and_audits_each(
    admin_api, admin, space, workspace, other_workspace
):
    response = bind(admin_api, space, [other_workspace.pk, workspace.pk])
    assert response.status_code == 200
    payments = {"id": workspace.pk, "name": "payments"}
    search = {"id": other_workspace.pk, "name": "search"}
    assert response.json() == {
        "added": [search, payments],
        "removed": [],
        "extended": [],
        "workspaces": [payments, search],
    }
    assert set(space.workspaces.all()) == {workspace, other_workspace}
    events = AuditEvent.objects.filter(action="space.bind")
    assert {event.after["workspace"] for event in events} == {"payments", "search"}
    assert {event.actor for event in events} == {admin}
    assert {event.target_label for event in events} == {"demo/team-a"}


def test_binding_again_changes_nothing_and_writes_no_event(admin_api, space, workspace):
    bind(admin_api, space, [workspace.pk])
    response = bind(admin_api, space, [workspace.pk])
    assert response.status_code == 200
    assert response.json()["added"] == [] and response.json()["removed"] == []
    assert response.json()["workspaces"] == [{"id": workspace.pk, "name": "payments"}]
    assert SpaceBinding.objects.count() == 1
    assert AuditEvent.objects.filter(action="space.bind").count() == 1


def test_bind_leaves_the_other_bindings_alone(admin_api, space, workspace, other_workspace):
    SpaceBinding.objects.create(space=space, workspace=other_workspace)
    response = bind(admin_api, space, [workspace.pk])
    assert [w["name"] for w in response.json()["workspaces"]] == ["payments", "search"]


def test_unbind_removes_only_the_named_workspaces(admin_api, space, workspace, other_workspace):
    for target in (workspace, other_workspace):
        SpaceBinding.objects.create(space=space, workspace=target)
    response = bind(admin_api, space, [workspace.pk], action="unbind")
    assert response.status_code == 200
    assert response.json() == {
        "added": [],
        "removed": [{"id": workspace.pk, "name": "payments"}],
        "extended": [],
        "workspaces": [{"id": other_workspace.pk, "name": "search"}],
    }
    assert list(space.workspaces.all()) == [other_workspace]
    event = AuditEvent.objects.get(action="space.unbind")
    assert event.before == {"workspace": "payments", "workspace_id": workspace.pk}


def test_unbinding_a_workspace_that_is_not_bound_changes_nothing(admin_api, space, workspace):
    response = bind(admin_api, space, [workspace.pk], action="unbind")
    assert response.status_code == 200
    assert response.json() == {"added": [], "removed": [], "extended": [], "workspaces": []}
    assert not AuditEvent.objects.exists()


def test_binding_a_public_space_is_allowed(admin_api, space, workspace):
    space.visibility = "public"
    space.save()
    assert bind(admin_api, space, [workspace.pk]).status_code == 200
    assert SpaceBinding.objects.filter(space=space, workspace=workspace).exists()


@pytest.mark.parametrize("action", ["bind", "unbind"])
@pytest.mark.parametrize(
    "ids, message",
    [
        (lambda known: [known, 999999], "Unknown workspace id(s): 999999."),
        (lambda known: [known, known], "A workspace is listed more than once."),
        (lambda known: [known, "abc"], "Workspace ids must be whole numbers."),
        (lambda known: [known, 1.5], "Workspace ids must be whole numbers."),
        (lambda known: [True], "Workspace ids must be whole numbers."),
        (lambda known: [None], "Workspace ids must be whole numbers."),
        (lambda known: [[known]], "Workspace ids must be whole numbers."),
        (lambda known: list(range(1, 1002)), "At most 1000 workspaces can be changed at once."),
        (lambda known: list(range(1, 10_001)), "At most 1000 workspaces can be changed at once."),
        (lambda known: [], "This list may not be empty."),
        (lambda known: known, 'Expected a list of items but got type "int".'),
    ],
)
def test_bad_workspace_lists_are_refused_and_change_nothing(
    admin_api, space, workspace, other_workspace, action, ids, message
):
    SpaceBinding.objects.create(space=space, workspace=other_workspace)
    before = snapshot()
    response = bind(admin_api, space, ids(workspace.pk), action=action)
    assert response.status_code == 400
    assert response.json() == {"workspaces": [message]}
    assert snapshot() == before


def test_a_bind_without_a_workspace_list_says_it_is_required(admin_api, space):
    response = admin_api.post(f"/api/v1/spaces/{space.pk}/bind/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"workspaces": ["This field is required."]}


def test_ids_sent_as_strings_are_accepted(admin_api, space, workspace):
    response = bind(admin_api, space, [str(workspace.pk)])
    assert response.status_code == 200
    assert SpaceBinding.objects.filter(space=space, workspace=workspace).exists()


def test_bind_accepts_a_form_post_too(admin_api, space, workspace, other_workspace):
    response = admin_api.post(
        f"/api/v1/spaces/{space.pk}/bind/", {"workspaces": [workspace.pk, other_workspace.pk]}
    )
    assert response.status_code == 200
    assert space.workspaces.count() == 2


# Audit events -----------------------------------------------------------------------------


@pytest.fixture
def events(admin, ws_admin, space, workspace, other_workspace):
    services.change_bindings(space, admin, add=[workspace])
    services.change_bindings(space, ws_admin, remove=[workspace])
    services.set_visibility(space, admin, "public")
    return list(AuditEvent.objects.all())


def test_admin_reads_the_audit_log_newest_first(admin_api, events):
    response = admin_api.get("/api/v1/audit-events/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["action"] for row in rows] == ["space.visibility", "space.unbind", "space.bind"]
    assert rows[2]["actor_name"] == "root-admin"
    assert rows[2]["target_label"] == "demo/team-a"
    assert rows[2]["after"]["workspace"] == "payments"
    one = admin_api.get(f"/api/v1/audit-events/{events[0].pk}/")
    assert one.status_code == 200 and one.json()["action"] == events[0].action


@pytest.mark.parametrize(
    "query, actions",
    [
        ({"actor": "WS-ad"}, ["space.unbind"]),
        ({"action": "space.bind"}, ["space.bind"]),
        ({"action": "space"}, []),
        ({"target": "TEAM-A"}, ["space.visibility", "space.unbind", "space.bind"]),
        ({"target": "nothing"}, []),
    ],
)
def test_audit_log_filters(admin_api, events, query, actions):
    rows = admin_api.get("/api/v1/audit-events/", query).json()["results"]
    assert [row["action"] for row in rows] == actions


def test_audit_log_filters_by_period(admin_api, events):
    AuditEvent.objects.filter(action="space.bind").update(created=datetime(2024, 1, 1, tzinfo=UTC))
    old = admin_api.get("/api/v1/audit-events/", {"until": "2024-06-01T00:00:00Z"}).json()["results"]
    assert [row["action"] for row in old] == ["space.bind"]
    recent = admin_api.get("/api/v1/audit-events/", {"since": "2024-06-01T00:00:00Z"}).json()["results"]
    assert [row["action"] for row in recent] == ["space.visibility", "space.unbind"]


@pytest.mark.parametrize(
    "query, field",
    [
        ({"since": "not-a-date"}, "since"),
        ({"since": "2024-06-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "until"),
    ],
)
def test_bad_audit_filters_are_a_400_on_the_field(admin_api, events, query, field):
    response = admin_api.get("/api/v1/audit-events/", query)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_the_audit_log_is_read_only(admin_api, events):
    assert admin_api.post("/api/v1/audit-events/", {"action": "x"}, format="json").status_code == 405
    assert admin_api.delete(f"/api/v1/audit-events/{events[0].pk}/").status_code == 405
    assert AuditEvent.objects.count() == len(events)


def test_harbor_cannot_use_the_token_service_through_the_api(admin, db):
    from rest_framework.test import APIClient

    registry = Registry.objects.create(
        name="harbor-x", kind="harbor", url="https://h.example.com", is_demo=True
    )
    api = APIClient()
    api.force_authenticate(admin)
    response = api.patch(f"/api/v1/registries/{registry.pk}/", {"token_service": True}, format="json")
    assert response.status_code == 400
    assert response.json()["token_service"] == ["Only a Docker Registry can use Wharf's token service."]
    registry.refresh_from_db()
    assert registry.token_service is False


def test_registry_reports_the_storage_read_at_sync_and_it_cannot_be_written(admin_api, demo_registry):
    Registry.objects.filter(pk=demo_registry.pk).update(storage_used=2048)
    url = f"/api/v1/registries/{demo_registry.pk}/"
    assert admin_api.get(url).json()["storage_used"] == 2048
    admin_api.patch(url, {"storage_used": 1}, format="json")
    demo_registry.refresh_from_db()
    assert demo_registry.storage_used == 2048

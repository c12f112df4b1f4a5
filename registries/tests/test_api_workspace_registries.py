"""The REST API for Integrated Registry (Workspace): /api/v1/workspaces/{id}/registries/.

Same rules as the pages in registries/workspace_views.py: members of the workspace (and platform
Admins) read its registries; only its Workspace Admins integrate, change, sync and remove them,
with the same connection check as the Admin's registries; registry URLs on loopback, link-local
or metadata addresses are refused on the `url` field unless WHARF_ALLOWED_REGISTRY_NETWORKS
allows them. Another workspace's registries answer 404, every change is audited and bad input
is a 400 on its field that changes nothing.

The Harbor double listens on 127.0.0.1, so tests that reach it allow 127.0.0.0/8 first.
"""

import pytest
from rest_framework.test import APIClient

from conftest import make_user
from portal.models import AuditEvent
from registries import services
from registries.kinds.harbor.tests.harbor_double import ADMIN_PASSWORD, ADMIN_USER
from registries.models import Registry, RegistrySpace, SyncRun
from testkit.factories import make_space

MEMBERS = ["ws_admin", "ws_editor", "ws_viewer"]
LOOPBACK_REFUSED = "a loopback address, which workspace registries may not use"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def loopback_allowed(settings):
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def admin_api(api, ws_admin):
    """Logged in as a Workspace Admin of payments (not the platform Admin)."""
    api.force_login(ws_admin)
    return api


@pytest.fixture
def team_harbor(loopback_allowed, harbor_double, workspace, ws_admin):
    """A real workspace registry of payments, on the Harbor double."""
    registry = Registry(
        name="team-harbor",
        kind="harbor",
        url=harbor_double.url,
        username=ADMIN_USER,
        scope="workspace",
        workspace=workspace,
    )
    services.save_registry(registry, ws_admin, password=ADMIN_PASSWORD)
    AuditEvent.objects.all().delete()
    return registry


@pytest.fixture
def demo_registry(workspace):
    """A workspace registry of payments that is never contacted."""
    return Registry.objects.create(
        name="team-demo",
        kind="harbor",
        url="https://harbor.example.com",
        scope="workspace",
        workspace=workspace,
        is_demo=True,
    )


@pytest.fixture
def their_registry(other_workspace):
    """A workspace registry of search, the outsider's workspace."""
    return Registry.objects.create(
        name="search-harbor",
        kind="harbor",
        url="https://s.example.com",
        scope="workspace",
        workspace=other_workspace,
        is_demo=True,
    )


@pytest.fixture
def platform_registry(db):
    return Registry.objects.create(
        name="platform-harbor", kind="harbor", url="https://p.example.com", is_demo=True
    )


def url(workspace, registry=None, action=None):
    base = f"/api/v1/workspaces/{getattr(workspace, 'pk', workspace)}/registries/"
    if registry is not None:
        base += f"{getattr(registry, 'pk', registry)}/"
    return base + (f"{action}/" if action else "")


def registry_data(double, **overrides):
    data = {
        "kind": "harbor",
        "name": "team-harbor",
        "url": double.url,
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "verify_tls": True,
        "ca_bundle": "",
    }
    data.update(overrides)
    return data


def snapshot():
    """Everything a call here might change, to prove a refused call changed nothing."""
    return {
        "registries": sorted(
            Registry.objects.values_list(
                "pk", "name", "url", "username", "scope", "workspace_id", "password_encrypted", "status"
            )
        ),
        "spaces": RegistrySpace.objects.count(),
        "sync_runs": SyncRun.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def every_endpoint(workspace, registry):
    """(method, url, body) for each operation on a workspace's registries."""
    # Port 9 on loopback refuses at once, should a connection check ever get that far.
    new = {"kind": "harbor", "name": "new", "url": "http://127.0.0.1:9"}
    return [
        ("get", url(workspace), None),
        ("post", url(workspace), new),
        ("get", url(workspace, registry), None),
        ("put", url(workspace, registry), {**new, "name": "renamed"}),
        ("patch", url(workspace, registry), {"name": "renamed"}),
        ("delete", url(workspace, registry), None),
        ("post", url(workspace, registry, "sync"), None),
    ]


def writes(workspace, registry):
    return [
        (method, path, body) for method, path, body in every_endpoint(workspace, registry) if method != "get"
    ]


def call(client, method, path, body=None):
    return getattr(client, method)(path, body, format="json")


# Reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", MEMBERS)
def test_every_member_lists_the_workspaces_registries_without_passwords(
    api, request, persona, workspace, team_harbor, demo_registry, their_registry, platform_registry
):
    make_space(team_harbor, "extra")
    api.force_login(request.getfixturevalue(persona))
    response = api.get(url(workspace))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["name"] for row in rows] == ["team-demo", "team-harbor"]
    harbor = rows[1]
    assert harbor["workspace"] == workspace.pk
    assert harbor["has_password"] is True
    assert harbor["space_count"] == team_harbor.spaces.count() >= 1
    assert "password" not in harbor and "password_encrypted" not in harbor
    assert ADMIN_PASSWORD not in response.text
    assert team_harbor.password_encrypted not in response.text


@pytest.mark.parametrize("persona", MEMBERS)
def test_every_member_reads_one_of_the_workspaces_registries(api, request, persona, workspace, demo_registry):
    api.force_login(request.getfixturevalue(persona))
    response = api.get(url(workspace, demo_registry))
    assert response.status_code == 200
    assert response.json()["name"] == "team-demo"
    assert "password" not in response.json()


def test_the_platform_admin_reads_a_workspaces_registries(api, admin, workspace, demo_registry):
    api.force_login(admin)
    assert [row["name"] for row in api.get(url(workspace)).json()["results"]] == ["team-demo"]
    assert api.get(url(workspace, demo_registry)).status_code == 200


def test_the_registry_list_filters_by_name(admin_api, workspace, demo_registry):
    Registry.objects.create(
        name="team-other",
        kind="distribution",
        url="https://d.example.com",
        scope="workspace",
        workspace=workspace,
        is_demo=True,
    )
    response = admin_api.get(url(workspace), {"name": "OTHER"})
    assert [row["name"] for row in response.json()["results"]] == ["team-other"]


def test_the_registry_list_query_count_does_not_grow_with_the_registries(
    admin_api, workspace, django_assert_max_num_queries
):
    def fill(start, count):
        for i in range(start, start + count):
            registry = Registry.objects.create(
                name=f"reg-{i:03d}",
                kind="harbor",
                is_demo=True,
                url="https://h.example.com",
                scope="workspace",
                workspace=workspace,
            )
            RegistrySpace.objects.create(registry=registry, name="space")

    fill(0, 3)
    with django_assert_max_num_queries(8) as few:
        admin_api.get(url(workspace))
    fill(3, 30)
    with django_assert_max_num_queries(8) as many:
        assert len(admin_api.get(url(workspace)).json()["results"]) == 33
    assert len(many.captured_queries) == len(few.captured_queries)


# Out of scope and anonymous ---------------------------------------------------------------


@pytest.mark.parametrize("persona", ["outsider", None])
def test_someone_outside_the_workspace_gets_404_on_every_endpoint(
    api, request, persona, workspace, demo_registry
):
    user = request.getfixturevalue(persona) if persona else make_user("no-memberships")
    api.force_login(user)
    before = snapshot()
    for method, path, body in every_endpoint(workspace, demo_registry):
        response = call(api, method, path, body)
        assert response.status_code == 404, (method, path, response.status_code)
    assert snapshot() == before


@pytest.mark.parametrize("persona", MEMBERS)
def test_another_workspaces_registry_is_404_even_through_this_workspaces_url(
    api, request, persona, workspace, other_workspace, their_registry
):
    api.force_login(request.getfixturevalue(persona))
    before = snapshot()
    for target in (workspace, other_workspace):
        for method, path, body in every_endpoint(target, their_registry):
            if path == url(target):
                continue  # the list of one's own workspace is fine; the rest name their registry
            response = call(api, method, path, body)
            if target == workspace and persona != "ws_admin" and method != "get":
                assert response.status_code == 403, (method, path)  # no role to change anything here
            else:
                assert response.status_code == 404, (method, path, response.status_code)
    assert snapshot() == before


@pytest.mark.parametrize("persona", ["ws_admin", "admin"])
def test_a_platform_registry_is_out_of_scope_here(api, request, persona, workspace, platform_registry):
    api.force_login(request.getfixturevalue(persona))
    before = snapshot()
    for method, path, body in every_endpoint(workspace, platform_registry):
        if path == url(workspace):
            assert platform_registry.name not in call(api, method, path, body).text
        elif persona == "ws_admin" or method == "get":
            assert call(api, method, path, body).status_code == 404, (method, path)
    assert snapshot() == before


def test_an_unknown_workspace_or_registry_is_404(admin_api, workspace):
    assert admin_api.get(url(999999)).status_code == 404
    assert admin_api.get(url(workspace, 999999)).status_code == 404
    assert admin_api.post(url(workspace, 999999, "sync")).status_code == 404


def test_anonymous_is_asked_to_authenticate_on_every_endpoint(api, workspace, demo_registry):
    before = snapshot()
    for method, path, body in every_endpoint(workspace, demo_registry):
        response = call(api, method, path, body)
        assert response.status_code == 401, (method, path)
        assert response["WWW-Authenticate"] == "Token"
    assert snapshot() == before


# Who may change them ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["ws_editor", "ws_viewer", "admin"])
def test_only_the_workspaces_own_admins_change_its_registries(
    api, request, persona, loopback_allowed, workspace, demo_registry, harbor_double
):
    """Editors, viewers and the platform Admin (who is not a member) read but never change."""
    api.force_login(request.getfixturevalue(persona))
    before = snapshot()
    for method, path, body in [
        *writes(workspace, demo_registry),
        ("post", url(workspace), registry_data(harbor_double)),
    ]:
        response = call(api, method, path, body)
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.json() == {
            "detail": "Only a Workspace Admin of this workspace may change its registries."
        }
    assert snapshot() == before
    assert not harbor_double.requests


def test_a_platform_admin_who_is_a_workspace_admin_there_may_change_them(api, workspace, demo_registry):
    api.force_login(make_user("admin-member", workspace=workspace, role="admin", admin=True))
    response = api.patch(url(workspace, demo_registry), {"username": "robot"}, format="json")
    assert response.status_code == 200


# Integrating ------------------------------------------------------------------------------


def test_a_workspace_admin_integrates_a_harbor_after_the_connection_check(
    admin_api, ws_admin, workspace, loopback_allowed, harbor_double
):
    harbor_double.add_project("team-a")
    response = admin_api.post(url(workspace), registry_data(harbor_double), format="json")
    assert response.status_code == 201, response.json()
    assert ADMIN_PASSWORD not in response.text
    registry = Registry.objects.get(name="team-harbor")
    assert response.json()["id"] == registry.pk
    assert response.json()["workspace"] == workspace.pk
    assert (registry.scope, registry.workspace) == ("workspace", workspace)
    assert registry.get_password() == ADMIN_PASSWORD
    assert registry.status == "healthy"
    assert harbor_double.requests_to("/api/v2.0/users/current")
    event = AuditEvent.objects.get(action="registry.create")
    assert event.actor == ws_admin
    assert event.after["scope"] == "workspace" and event.after["workspace"] == workspace.pk
    assert ADMIN_PASSWORD not in str(event.after)
    # As on the page, integrating starts a sync (the immediate backend has already run it).
    assert SyncRun.objects.filter(registry=registry).exists()
    assert RegistrySpace.objects.filter(registry=registry, name="team-a").exists()


def test_a_workspace_registry_does_not_need_a_harbor_administrator(
    admin_api, workspace, loopback_allowed, harbor_double
):
    harbor_double.add_user("dev", "Dev12345!", admin=False)
    response = admin_api.post(
        url(workspace), registry_data(harbor_double, username="dev", password="Dev12345!"), format="json"
    )
    assert response.status_code == 201, response.json()


def test_the_new_registry_is_listed_for_that_workspace_alone(
    admin_api, api, outsider, workspace, other_workspace, loopback_allowed, harbor_double
):
    admin_api.post(url(workspace), registry_data(harbor_double), format="json")
    assert [row["name"] for row in admin_api.get(url(workspace)).json()["results"]] == ["team-harbor"]
    api.force_login(outsider)
    assert api.get(url(other_workspace)).json()["results"] == []


# The address rule -------------------------------------------------------------------------


def test_a_loopback_registry_is_refused_on_the_url_unless_the_operator_allows_it(
    admin_api, settings, workspace, harbor_double
):
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = []
    before = snapshot()
    response = admin_api.post(url(workspace), registry_data(harbor_double), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["url"]
    [reason] = response.json()["url"]
    assert reason.startswith("127.0.0.1 resolves to 127.0.0.1, " + LOOPBACK_REFUSED)
    assert "WHARF_ALLOWED_REGISTRY_NETWORKS" in reason
    assert snapshot() == before
    assert not harbor_double.requests  # refused before Wharf ever calls it


@pytest.mark.parametrize(
    "address, kind",
    [
        ("http://169.254.169.254/", "a link-local address"),
        ("http://100.100.100.200/", "a cloud metadata address"),
        ("http://[::1]:5000", "a loopback address"),
        ("http://0.0.0.0:5000", "a loopback address"),
        ("http://localhost:5000", "a loopback address"),
    ],
)
def test_link_local_metadata_and_loopback_addresses_are_refused_with_the_reason(
    admin_api, workspace, address, kind
):
    before = snapshot()
    response = admin_api.post(
        url(workspace), {"kind": "harbor", "name": "sneaky", "url": address}, format="json"
    )
    assert response.status_code == 400
    assert f"{kind}, which workspace registries may not use" in response.json()["url"][0]
    assert snapshot() == before


def test_a_host_name_that_does_not_resolve_is_refused_on_the_url(admin_api, workspace):
    response = admin_api.post(
        url(workspace),
        {"kind": "harbor", "name": "nowhere", "url": "https://registry.invalid"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"url": ["The host name registry.invalid does not resolve."]}


def test_moving_an_existing_registry_to_loopback_is_refused_too(
    admin_api, settings, workspace, team_harbor, harbor_double
):
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = []
    before = snapshot()
    response = admin_api.patch(url(workspace, team_harbor), {"url": "http://127.0.0.2:5000"}, format="json")
    assert response.status_code == 400
    assert LOOPBACK_REFUSED in response.json()["url"][0]
    assert snapshot() == before


# Bad input --------------------------------------------------------------------------------


def test_a_wrong_password_is_a_400_with_the_clients_message_and_saves_nothing(
    admin_api, workspace, loopback_allowed, harbor_double
):
    before = snapshot()
    response = admin_api.post(
        url(workspace), registry_data(harbor_double, password="wrong-pw"), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert "wrong-pw" not in response.text
    assert snapshot() == before


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"name": "Bad Name"}, "name", "lowercase letters, digits and hyphens"),
        ({"name": ""}, "name", "This field may not be blank."),
        ({"name": "platform-harbor"}, "name", "A registry with this name already exists."),
        ({"url": "ftp://harbor.example.com"}, "url", "Enter an http:// or https:// address."),
        ({"url": ""}, "url", "This field may not be blank."),
        ({"kind": "quay"}, "kind", '"quay" is not a valid choice.'),
        ({"ca_bundle": "not a certificate"}, "ca_bundle", "Paste one or more PEM certificates"),
        ({"verify_tls": "maybe"}, "verify_tls", "Must be a valid boolean."),
    ],
)
def test_bad_registry_input_is_refused_on_its_field(
    admin_api, workspace, loopback_allowed, harbor_double, platform_registry, overrides, field, message
):
    before = snapshot()
    response = admin_api.post(url(workspace), registry_data(harbor_double, **overrides), format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert message in " ".join(response.json()[field])
    assert snapshot() == before
    assert not harbor_double.requests_to("/api/v2.0/users/current")


def test_the_scope_workspace_and_status_are_not_taken_from_the_request(
    admin_api, workspace, other_workspace, loopback_allowed, harbor_double
):
    response = admin_api.post(
        url(workspace),
        registry_data(
            harbor_double, scope="platform", workspace=other_workspace.pk, status="unhealthy", is_demo=True
        ),
        format="json",
    )
    assert response.status_code == 201
    registry = Registry.objects.get()
    assert (registry.scope, registry.workspace, registry.is_demo) == ("workspace", workspace, False)


# Changing, syncing and removing -----------------------------------------------------------


def test_an_update_without_a_password_keeps_the_stored_one_after_a_new_check(
    admin_api, workspace, team_harbor, harbor_double
):
    checks = len(harbor_double.requests_to("/api/v2.0/users/current"))
    response = admin_api.patch(
        url(workspace, team_harbor), {"username": ADMIN_USER, "password": ""}, format="json"
    )
    assert response.status_code == 200, response.json()
    team_harbor.refresh_from_db()
    assert team_harbor.get_password() == ADMIN_PASSWORD
    assert len(harbor_double.requests_to("/api/v2.0/users/current")) > checks
    assert AuditEvent.objects.get(action="registry.update").after.get("password") is None


def test_an_update_that_fails_the_connection_check_keeps_everything(admin_api, workspace, team_harbor):
    before = snapshot()
    response = admin_api.patch(
        url(workspace, team_harbor), {"password": "wrong-pw", "username": "someone"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert snapshot() == before
    team_harbor.refresh_from_db()
    assert team_harbor.get_password() == ADMIN_PASSWORD


def test_the_kind_of_a_workspace_registry_cannot_be_changed(admin_api, workspace, demo_registry):
    response = admin_api.patch(url(workspace, demo_registry), {"kind": "distribution"}, format="json")
    assert response.status_code == 400
    assert "cannot be changed" in response.json()["kind"][0]
    assert Registry.objects.get(pk=demo_registry.pk).kind == "harbor"


def test_a_workspace_admin_renames_a_demo_registry_and_it_is_audited(
    admin_api, ws_admin, workspace, demo_registry
):
    response = admin_api.patch(url(workspace, demo_registry), {"name": "team-renamed"}, format="json")
    assert response.status_code == 200
    assert Registry.objects.get(pk=demo_registry.pk).name == "team-renamed"
    event = AuditEvent.objects.get(action="registry.update")
    assert event.actor == ws_admin
    assert (event.before["name"], event.after["name"]) == ("team-demo", "team-renamed")


def test_sync_now_is_accepted_and_runs(admin_api, workspace, team_harbor, harbor_double):
    harbor_double.add_project("team-b")
    response = admin_api.post(url(workspace, team_harbor, "sync"))
    assert response.status_code == 202
    assert response.json() == {"detail": "Sync of team-harbor started."}
    assert RegistrySpace.objects.filter(registry=team_harbor, name="team-b").exists()


def test_a_demo_registry_is_never_synced(admin_api, workspace, demo_registry):
    response = admin_api.post(url(workspace, demo_registry, "sync"))
    assert response.status_code == 400
    assert "never contacted" in response.json()["non_field_errors"][0]
    assert not SyncRun.objects.exists()


def test_a_workspace_admin_removes_a_registry_with_its_spaces_and_it_is_audited(
    admin_api, ws_admin, workspace, demo_registry
):
    RegistrySpace.objects.create(registry=demo_registry, name="team-a")
    response = admin_api.delete(url(workspace, demo_registry))
    assert response.status_code == 204
    assert not Registry.objects.exists() and not RegistrySpace.objects.exists()
    event = AuditEvent.objects.get(action="registry.delete")
    assert event.actor == ws_admin
    assert event.before["spaces"] == 1 and event.before["workspace"] == workspace.pk

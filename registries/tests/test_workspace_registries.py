"""Integrated Registry (Workspace): a Workspace Admin's own registries, and the address rule."""

import pytest
from django.urls import reverse

from registries.addresses import refused_reason
from registries.models import Registry
from testkit import factories
from testkit.access import assert_access
from testkit.doubles import ADMIN_PASSWORD, ADMIN_USER
from testkit.personas import ANONYMOUS, OUTSIDER, WS_ADMIN, WS_EDITOR, WS_VIEWER


def form_data(double, **overrides):
    data = {
        "kind": "harbor",
        "name": "team-harbor",
        "url": double.url,
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "verify_tls": "on",
        "ca_bundle": "",
    }
    data.update(overrides)
    return data


def create_url(workspace):
    return reverse("registries:workspace-create") + f"?workspace={workspace.pk}"


def test_loopback_registry_is_refused_with_the_reason(client, ws_admin, workspace, harbor_double):
    client.force_login(ws_admin)
    response = client.post(create_url(workspace), form_data(harbor_double))
    assert "a loopback address, which workspace registries may not use" in response.text
    assert "WHARF_ALLOWED_REGISTRY_NETWORKS" in response.text
    assert not Registry.objects.exists()
    assert not harbor_double.requests


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/", "http://[::1]:5000", "http://0.0.0.0/", "http://100.100.100.200/"]
)
def test_metadata_and_link_local_addresses_are_refused(url):
    assert refused_reason(url, []) is not None


def test_public_and_explicitly_allowed_addresses_pass():
    assert refused_reason("https://93.184.215.14", []) is None
    assert refused_reason("http://127.0.0.1:5000", ["127.0.0.0/8"]) is None
    assert refused_reason("https://10.20.30.40", ["10.20.0.0/16"]) is None


def test_workspace_admin_integrates_a_registry_when_the_network_is_allowed(
    client, settings, ws_admin, workspace, harbor_double
):
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = ["127.0.0.0/8"]
    client.force_login(ws_admin)
    response = client.post(create_url(workspace), form_data(harbor_double))
    registry = Registry.objects.get()
    assert response.status_code == 302
    assert (registry.scope, registry.workspace) == ("workspace", workspace)
    listing = client.get(reverse("registries:workspace-list"), {"workspace": workspace.pk})
    assert "team-harbor" in listing.text


def test_editors_and_viewers_cannot_integrate(client, settings, workspace, harbor_double):
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = ["127.0.0.0/8"]
    assert_access(
        client,
        create_url(workspace),
        {WS_EDITOR: 403, WS_VIEWER: 403, OUTSIDER: 404, ANONYMOUS: 302},
        method="post",
        data=form_data(harbor_double),
    )
    assert not Registry.objects.exists()


@pytest.fixture
def team_registry(workspace):
    """The workspace's own (demo) Harbor."""
    return factories.make_registry(
        "team-harbor", url="https://h.example.com", scope="workspace", workspace=workspace
    )


def test_another_workspaces_registry_answers_404(client, workspace, team_registry):
    registry = team_registry
    members = {WS_ADMIN: 200, WS_EDITOR: 200, WS_VIEWER: 200, OUTSIDER: 404, ANONYMOUS: 302}
    assert_access(client, reverse("registries:workspace-detail", args=[registry.pk]), members)
    assert_access(client, reverse("registries:workspace-list") + f"?workspace={workspace.pk}", members)
    assert_access(
        client,
        reverse("registries:workspace-remove", args=[registry.pk]),
        {OUTSIDER: 404, WS_EDITOR: 403, WS_VIEWER: 403, ANONYMOUS: 302},
        method="post",
    )
    assert_access(client, create_url(workspace), {OUTSIDER: 404}, method="post", data={})
    assert Registry.objects.exists()


def test_members_see_the_registry_but_only_its_admins_change_it(client, ws_viewer, ws_admin, team_registry):
    registry = team_registry
    client.force_login(ws_viewer)
    page = client.get(reverse("registries:workspace-detail", args=[registry.pk]))
    assert page.status_code == 200
    assert "Remove" not in page.text
    assert client.post(reverse("registries:workspace-remove", args=[registry.pk])).status_code == 403
    client.force_login(ws_admin)
    client.post(reverse("registries:workspace-remove", args=[registry.pk]))
    assert not Registry.objects.exists()


def test_workspace_registry_is_not_on_the_admin_pages(client, admin, team_registry):
    registry = team_registry
    client.force_login(admin)
    assert "team-harbor" not in client.get(reverse("registries:platform-list")).text
    assert client.get(reverse("registries:detail", args=[registry.pk])).status_code == 404


def test_workspace_pages_show_the_registrys_space_count(client, ws_viewer, workspace, team_registry):
    registry = team_registry
    for name in ("one", "two", "three"):
        factories.make_space(registry, name)
    client.force_login(ws_viewer)
    workspace_page = client.get(reverse("workspaces:detail", args=[workspace.pk])).text
    assert "https://h.example.com (3 spaces)" in workspace_page
    listed = client.get(reverse("registries:workspace-list"), {"workspace": workspace.pk}).text
    assert "<td>3</td>" in listed

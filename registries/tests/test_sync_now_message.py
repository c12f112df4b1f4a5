""" "Sync now" says when the sync failed, and why; an Unhealthy registry's reason shows once, in
plain words. The registries here listen nowhere: a closed port on this machine refuses."""

import re
import socket

import pytest
from django.urls import reverse

from registries.models import Registry, SyncRun

LOCAL = "127.0.0.1"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOCAL, 0))
        return probe.getsockname()[1]


@pytest.fixture
def unreachable(db, admin):
    registry = Registry(
        name="harbor-gone", kind="harbor", url=f"http://{LOCAL}:{closed_port()}", username="admin"
    )
    registry.set_password("Harbor12345")
    registry.save()
    return registry


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_sync_now_from_the_registry_list_says_it_failed_and_why(client, admin, unreachable, settings):
    settings.WHARF_REGISTRY_TIMEOUT = 2
    client.force_login(admin)
    response = client.post(
        reverse("registries:sync", args=[unreachable.pk]),
        {"next": reverse("registries:platform-list")},
        follow=True,
    )
    assert response.status_code == 200
    [message] = messages_of(response)
    assert message == f"Sync of harbor-gone failed: Cannot connect to {unreachable.url} (connection refused)."
    assert SyncRun.objects.get(registry=unreachable).result == SyncRun.Result.FAILED


def test_sync_now_on_the_registry_page_says_it_failed_and_the_status_says_why_once(
    client, admin, unreachable, settings
):
    settings.WHARF_REGISTRY_TIMEOUT = 2
    client.force_login(admin)
    response = client.post(reverse("registries:sync", args=[unreachable.pk]), follow=True)
    assert messages_of(response) == ["Sync of harbor-gone failed; the registry's status below says why."]
    reason = f"Cannot connect to {unreachable.url} (connection refused)."
    # Once above the Recent syncs table (which keeps each run's own record).
    assert response.text.split("Recent syncs")[0].count(reason) == 1
    assert "Errno" not in response.text


def test_unhealthy_reason_is_shown_once_on_the_registry_page(client, admin, unreachable, settings):
    settings.WHARF_REGISTRY_TIMEOUT = 2
    client.force_login(admin)
    client.post(reverse("registries:sync", args=[unreachable.pk]))
    unreachable.refresh_from_db()
    assert unreachable.status == Registry.Status.UNHEALTHY
    page = client.get(reverse("registries:detail", args=[unreachable.pk]))
    reason = unreachable.status_message
    assert "connection refused" in reason
    # Once in the page's text; the Recent syncs table keeps the run's own record below it.
    before_runs = page.text.split("Recent syncs")[0]
    assert before_runs.count(reason) == 1
    assert "Last sync error:" not in page.text
    assert re.search(r'<span class="badge bad">Unhealthy</span>', page.text)


def test_a_successful_sync_now_says_so(client, admin, harbor_double):
    from registries import services
    from registries.kinds.harbor.tests.harbor_double import ADMIN_PASSWORD, ADMIN_USER

    registry = services.save_registry(
        Registry(name="harbor-main", kind="harbor", url=harbor_double.url, username=ADMIN_USER),
        admin,
        password=ADMIN_PASSWORD,
    )
    client.force_login(admin)
    response = client.post(reverse("registries:sync", args=[registry.pk]), follow=True)
    assert messages_of(response) == ["Synced harbor-main."]


def test_workspace_registry_sync_failure_tells_members_the_generic_reason(
    client, settings, workspace, ws_admin
):
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = ["127.0.0.0/8"]
    settings.WHARF_REGISTRY_TIMEOUT = 2
    registry = Registry.objects.create(
        name="team-registry",
        kind="distribution",
        url=f"http://{LOCAL}:{closed_port()}",
        scope="workspace",
        workspace=workspace,
    )
    client.force_login(ws_admin)
    response = client.post(reverse("registries:workspace-sync", args=[registry.pk]), follow=True)
    assert messages_of(response) == ["Sync of team-registry failed; the registry's status below says why."]
    assert "connection refused" not in response.text
    assert response.text.count("Could not connect to the registry.") == 1


def test_demo_registry_is_never_synced(client, admin):
    registry = Registry.objects.create(name="demo", kind="harbor", url="https://demo.example", is_demo=True)
    client.force_login(admin)
    response = client.post(reverse("registries:sync", args=[registry.pk]), follow=True)
    assert messages_of(response) == ["Demo registries are never contacted, so they cannot be synced."]
    assert not SyncRun.objects.exists()

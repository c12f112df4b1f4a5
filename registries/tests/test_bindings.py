"""Bind/unbind workspace: the seed's dialog, its diff semantics, audit and concurrency."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from portal.models import AuditEvent
from registries import services
from registries.models import Registry, RegistrySpace, SpaceBinding
from testkit.access import assert_access
from testkit.personas import ANONYMOUS, OUTSIDER, WS_ADMIN, WS_EDITOR, WS_VIEWER
from workspaces.models import Workspace


def dialog_url(space):
    return reverse("registries:space-bindings", args=[space.registry_id, space.pk])


def bound_names(space):
    return sorted(space.workspaces.values_list("name", flat=True))


def test_admin_binds_two_workspaces_and_sees_the_toast(client, admin, space, teams):
    client.force_login(admin)
    response = client.post(
        dialog_url(space), {"workspaces": [teams[0].pk, teams[1].pk]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 204
    assert "Bound/Unbound workspace successfully" in response["HX-Trigger"]
    assert f"space-changed-{space.pk}" in response["HX-Trigger"]
    assert "closeModal" in response["HX-Trigger"]
    assert bound_names(space) == ["alpha", "beta"]
    events = AuditEvent.objects.filter(action="space.bind")
    assert events.count() == 2
    assert {event.after["workspace"] for event in events} == {"alpha", "beta"}
    assert all(event.actor == admin for event in events)


def test_unbind_with_x_removes_only_that_workspace(client, admin, space, teams):
    services.change_bindings(space, admin, add=teams[:2])
    client.force_login(admin)
    # The dialog showed alpha and beta; the Admin clicked x on beta.
    response = client.post(
        dialog_url(space),
        {"shown": [teams[0].pk, teams[1].pk], "workspaces": [teams[0].pk]},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert bound_names(space) == ["alpha"]
    assert AuditEvent.objects.filter(action="space.unbind").get().before["workspace"] == "beta"


def test_resubmitting_the_same_dialog_changes_nothing(client, admin, space, teams):
    client.force_login(admin)
    data = {"workspaces": [teams[0].pk]}
    client.post(dialog_url(space), data, headers={"HX-Request": "true"})
    events = AuditEvent.objects.count()
    response = client.post(dialog_url(space), data, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert "No changes" in response["HX-Trigger"]
    assert bound_names(space) == ["alpha"]
    assert AuditEvent.objects.count() == events


def test_dialog_diff_keeps_a_binding_another_admin_added_meanwhile(admin, space, teams):
    # Admin A opened the dialog when nothing was bound; Admin B binds beta; A then binds alpha.
    services.change_bindings(space, admin, add=[teams[1]])
    services.apply_dialog(space, admin, shown_ids=[], chosen_ids=[teams[0].pk])
    assert bound_names(space) == ["alpha", "beta"]


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "Select at least one workspace."),
        ({"workspaces": ["999999"]}, "Unknown workspace id(s): 999999."),
        ({"workspaces": ["abc"]}, "Workspace ids must be whole numbers."),
    ],
)
def test_bad_dialog_submit_says_why_and_changes_nothing(client, admin, space, teams, data, message):
    client.force_login(admin)
    response = client.post(dialog_url(space), data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert message in response.text
    assert not SpaceBinding.objects.exists()
    assert not AuditEvent.objects.exists()


def test_repeated_workspace_id_is_refused(client, admin, space, teams):
    client.force_login(admin)
    response = client.post(
        dialog_url(space), {"workspaces": [teams[0].pk, teams[0].pk]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert "listed more than once" in response.text
    assert not SpaceBinding.objects.exists()


def test_ten_thousand_ids_are_refused(admin, space, teams):
    with pytest.raises(services.ServiceError, match="At most 1000"):
        services.apply_dialog(space, admin, shown_ids=[], chosen_ids=list(range(1, 10_001)))
    assert not SpaceBinding.objects.exists()


def test_space_of_another_registry_answers_404(client, admin, space, teams):
    other = Registry.objects.create(name="other", kind="harbor", url="https://other.example.com")
    client.force_login(admin)
    url = reverse("registries:space-bindings", args=[other.pk, space.pk])
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 404
    assert client.post(url, {"workspaces": [teams[0].pk]}).status_code == 404
    assert not SpaceBinding.objects.exists()


def test_non_admins_cannot_bind_and_anonymous_is_sent_to_login(client, space, teams):
    refused = {WS_ADMIN: 403, WS_EDITOR: 403, WS_VIEWER: 403, OUTSIDER: 403, ANONYMOUS: 302}
    assert_access(client, dialog_url(space), refused)
    assert_access(client, dialog_url(space), refused, method="post", data={"workspaces": [teams[0].pk]})
    assert not SpaceBinding.objects.exists()


def test_missing_csrf_token_is_refused(admin, space, teams):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.post(dialog_url(space), {"workspaces": [teams[0].pk]})
    assert response.status_code == 403
    assert not SpaceBinding.objects.exists()


def test_dialog_lists_bound_workspaces_as_chips_and_searches_on_the_server(client, admin, space, teams):
    services.change_bindings(space, admin, add=[teams[2]])
    client.force_login(admin)
    response = client.get(dialog_url(space), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Bind/unbind workspace" in response.text
    assert f'data-chip="{teams[2].pk}"' in response.text
    assert "<html" not in response.text
    results = client.get(
        dialog_url(space),
        {"results": "1", "q": "alp", "workspaces": teams[2].pk},
        headers={"HX-Request": "true"},
    )
    assert "alpha" in results.text
    assert "beta" not in results.text


def test_dialog_on_a_public_space_explains_why_binding_matters(client, admin, space):
    space.visibility = "public"
    space.save()
    client.force_login(admin)
    response = client.get(dialog_url(space), headers={"HX-Request": "true"})
    assert "A binding matters if the space later becomes private" in response.text


def test_dialog_works_without_javascript(client, admin, space, teams):
    client.force_login(admin)
    page = client.get(dialog_url(space))
    assert page.status_code == 200
    assert "<html" in page.text
    response = client.post(dialog_url(space), {"workspaces": [teams[0].pk]})
    assert response.status_code == 302
    assert bound_names(space) == ["alpha"]


def test_row_refresh_shows_the_bound_workspaces(client, admin, space, teams):
    client.force_login(admin)
    row_url = reverse("registries:space-row", args=[space.registry_id, space.pk])
    assert "No binding" in client.get(row_url).text
    services.change_bindings(space, admin, add=teams[:2])
    row = client.get(row_url).text
    assert "No binding" not in row
    assert "alpha +1" in row
    assert "<li>beta</li>" in row


@pytest.mark.django_db(transaction=True)
def test_two_admins_binding_at_once_both_survive(admin):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's shared in-memory test database locks whole tables; CI runs this on PostgreSQL")
    registry = Registry.objects.create(
        name="harbor", kind="harbor", url="https://h.example.com", is_demo=True
    )
    space = RegistrySpace.objects.create(registry=registry, name="shared")
    first, second = Workspace.objects.create(name="first"), Workspace.objects.create(name="second")
    barrier = threading.Barrier(2)
    errors = []

    def bind(workspace):
        try:
            barrier.wait()
            # Both dialogs were opened when nothing was bound.
            services.apply_dialog(space, admin, shown_ids=[], chosen_ids=[workspace.pk])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=bind, args=(w,)) for w in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert bound_names(space) == ["first", "second"]
    assert AuditEvent.objects.filter(action="space.bind").count() == 2

"""Bindings that end: set in the dialog and the API, shown on the Registry space page, removed
by ``manage.py expire_bindings`` through the same service (audit events by "expiry")."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from portal.models import AuditEvent
from registries import services
from registries.models import RegistrySpace, SpaceBinding
from testkit.access import assert_access
from testkit.personas import OUTSIDER, WS_ADMIN, WS_EDITOR, WS_VIEWER
from workspaces.models import Workspace


@pytest.fixture
def admin_api(admin):
    api = APIClient()
    api.force_login(admin)
    return api


def soon(**delta):
    return timezone.now() + timedelta(**delta)


def ends(space, workspace):
    return SpaceBinding.objects.get(space=space, workspace=workspace).expires


def bind_url(space):
    return f"/api/v1/spaces/{space.pk}/bind/"


# API --------------------------------------------------------------------------------------


def test_api_binds_until_the_time_sent_and_audits_it(admin_api, space, teams):
    when = soon(days=3).replace(microsecond=0)
    response = admin_api.post(
        bind_url(space), {"workspaces": [teams[0].pk], "expires": when.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    assert ends(space, teams[0]) == when
    event = AuditEvent.objects.get(action="space.bind")
    assert event.after["expires"] == when.isoformat()
    detail = admin_api.get(f"/api/v1/spaces/{space.pk}/").json()
    assert detail["bindings"] == [
        {"workspace": teams[0].pk, "expires": when.isoformat().replace("+00:00", "Z")}
    ]


def test_api_changes_the_end_of_a_binding_that_exists(admin_api, space, teams):
    services.change_bindings(space, _system_admin(), add=[teams[0]])
    when = soon(days=10).replace(microsecond=0)
    response = admin_api.post(
        bind_url(space), {"workspaces": [teams[0].pk], "expires": when.isoformat()}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["extended"] == [{"id": teams[0].pk, "name": "alpha"}]
    assert ends(space, teams[0]) == when
    event = AuditEvent.objects.get(action="space.binding_expires")
    assert event.before["expires"] is None and event.after["expires"] == when.isoformat()
    # Binding again without "expires" keeps the end.
    admin_api.post(bind_url(space), {"workspaces": [teams[0].pk]}, format="json")
    assert ends(space, teams[0]) == when


def _system_admin():
    from conftest import make_user

    return make_user("binder", admin=True)


@pytest.mark.parametrize("expires", ["2020-01-01T00:00:00Z", "tomorrow", "2026-13-45", 12345, ""])
def test_api_refuses_a_past_or_malformed_end_naming_the_field_and_changes_nothing(
    admin_api, space, teams, expires
):
    response = admin_api.post(
        bind_url(space), {"workspaces": [teams[0].pk], "expires": expires}, format="json"
    )
    assert response.status_code == 400
    assert "expires" in response.json()
    assert not SpaceBinding.objects.exists()
    assert not AuditEvent.objects.exists()


def test_api_null_end_makes_a_binding_last(admin_api, space, teams):
    services.change_bindings(space, _system_admin(), add=[teams[0]], expires={teams[0]: soon(days=1)})
    response = admin_api.post(bind_url(space), {"workspaces": [teams[0].pk], "expires": None}, format="json")
    assert response.status_code == 200
    assert ends(space, teams[0]) is None


def test_non_admins_cannot_set_an_end(space, teams):
    assert_access(
        APIClient(),
        bind_url(space),
        {WS_ADMIN: 403, WS_EDITOR: 403, WS_VIEWER: 403, OUTSIDER: 403},
        method="post",
        data={"workspaces": [teams[0].pk], "expires": soon(days=1).isoformat()},
        format="json",
    )
    assert not SpaceBinding.objects.exists()


# The dialog ---------------------------------------------------------------------------------


def dialog_url(space):
    return reverse("registries:space-bindings", args=[space.registry_id, space.pk])


def test_dialog_binds_one_workspace_until_a_day_and_the_other_for_good(client, admin, space, teams):
    client.force_login(admin)
    day = timezone.localdate() + timedelta(days=5)
    response = client.post(
        dialog_url(space),
        {"workspaces": [teams[0].pk, teams[1].pk], f"expires-{teams[0].pk}": day.isoformat()},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert timezone.localtime(ends(space, teams[0])).date() == day
    assert timezone.localtime(ends(space, teams[0])).hour == 0
    assert ends(space, teams[1]) is None


def test_dialog_shows_the_end_day_and_resubmitting_it_changes_nothing(client, admin, space, teams):
    when = soon(days=4).replace(hour=15, minute=30, second=0, microsecond=0)
    services.change_bindings(space, admin, add=[teams[0]], expires={teams[0]: when})
    client.force_login(admin)
    page = client.get(dialog_url(space), headers={"HX-Request": "true"}).content.decode()
    day = timezone.localdate(when).isoformat()
    assert f'name="expires-{teams[0].pk}" value="{day}"' in page
    AuditEvent.objects.all().delete()
    response = client.post(
        dialog_url(space),
        {"shown": [teams[0].pk], "workspaces": [teams[0].pk], f"expires-{teams[0].pk}": day},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert ends(space, teams[0]) == when  # its exact time, not the start of the day
    assert not AuditEvent.objects.exists()


def test_dialog_clearing_the_day_makes_the_binding_last(client, admin, space, teams):
    services.change_bindings(space, admin, add=[teams[0]], expires={teams[0]: soon(days=4)})
    client.force_login(admin)
    client.post(
        dialog_url(space),
        {"shown": [teams[0].pk], "workspaces": [teams[0].pk], f"expires-{teams[0].pk}": ""},
        headers={"HX-Request": "true"},
    )
    assert ends(space, teams[0]) is None
    assert AuditEvent.objects.filter(action="space.binding_expires").count() == 1


@pytest.mark.parametrize("day", ["2020-01-01", "today", "not-a-date", "2026-02-30"])
def test_dialog_refuses_a_past_or_malformed_day_and_changes_nothing(client, admin, space, teams, day):
    if day == "today":
        day = timezone.localdate().isoformat()
    client.force_login(admin)
    response = client.post(
        dialog_url(space),
        {"workspaces": [teams[0].pk], f"expires-{teams[0].pk}": day},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert (
        "The end of a binding must be in the future." in response.content.decode()
        or "Enter the end of a binding as a date (YYYY-MM-DD)." in response.content.decode()
    )
    assert not SpaceBinding.objects.exists()


# The Registry space page -------------------------------------------------------------------


def test_space_page_shows_when_bindings_end(client, admin, space, teams):
    when = soon(days=2).replace(second=0, microsecond=0)
    services.change_bindings(space, admin, add=teams, expires={teams[1]: when})
    client.force_login(admin)
    page = client.get(reverse("registries:spaces", args=[space.registry_id])).content.decode()
    shown = timezone.localtime(when).strftime("%Y-%m-%d %H:%M")
    assert f"beta · ends {shown}" in page
    assert "<li>alpha</li>" in page
    assert f"ends {shown}</span>" in page  # the column's badge: the soonest end


def test_space_page_query_count_does_not_grow_with_ending_bindings(
    client, admin, registry, django_assert_max_num_queries
):
    client.force_login(admin)
    url = reverse("registries:spaces", args=[registry.pk])
    workspaces = [Workspace.objects.create(name=f"ws-{n}") for n in range(6)]
    for n in range(6):
        space = RegistrySpace.objects.create(registry=registry, name=f"space-{n}")
        services.change_bindings(
            space,
            admin,
            add=workspaces[: n + 1],
            expires={workspace: soon(days=n + 1) for workspace in workspaces[:n]},
        )
    with django_assert_max_num_queries(11):
        assert client.get(url).status_code == 200


# manage.py expire_bindings -----------------------------------------------------------------


def test_expire_bindings_unbinds_ended_ones_as_expiry_and_leaves_the_rest(admin, space, teams, registry):
    other = RegistrySpace.objects.create(registry=registry, name="other", visibility="private")
    services.change_bindings(space, admin, add=teams[:2], expires={teams[0]: soon(seconds=1)})
    services.change_bindings(other, admin, add=[teams[0]], expires={teams[0]: soon(days=1)})
    AuditEvent.objects.all().delete()

    out = StringIO()
    call_command("expire_bindings", stdout=out)
    assert out.getvalue() == ""  # nothing has ended yet

    SpaceBinding.objects.filter(space=space, workspace=teams[0]).update(expires=soon(seconds=-1))
    call_command("expire_bindings", stdout=out)
    assert "harbor/vault: unbound alpha (binding ended)" in out.getvalue()
    assert list(space.workspaces.values_list("name", flat=True)) == ["beta"]
    assert list(other.workspaces.values_list("name", flat=True)) == ["alpha"]
    event = AuditEvent.objects.get(action="space.unbind")
    assert event.actor is None and event.actor_name == "expiry"
    assert event.before["workspace"] == "alpha" and event.before["expires"]

    # Running again finds nothing more.
    call_command("expire_bindings", stdout=(again := StringIO()))
    assert again.getvalue() == ""
    assert AuditEvent.objects.filter(action="space.unbind").count() == 1


def test_a_binding_extended_before_it_ended_is_kept(admin, space, teams):
    services.change_bindings(space, admin, add=[teams[0]], expires={teams[0]: soon(seconds=1)})
    services.change_bindings(space, admin, expires={teams[0]: soon(days=30)})
    assert services.expire_bindings(now=soon(days=1)) == []
    assert SpaceBinding.objects.filter(space=space, workspace=teams[0]).exists()


def test_bindings_ending_within_a_week_are_listed_soonest_first(admin, space, teams, registry):
    other = RegistrySpace.objects.create(registry=registry, name="other", visibility="private")
    services.change_bindings(
        space, admin, add=teams, expires={teams[0]: soon(days=6), teams[1]: soon(days=8)}
    )
    services.change_bindings(other, admin, add=[teams[1]], expires={teams[1]: soon(hours=2)})
    listed = [(b.space.name, b.workspace.name) for b in services.bindings_ending_soon()]
    assert listed == [("other", "beta"), ("vault", "alpha")]


# Django admin -----------------------------------------------------------------------------------


def test_django_admin_binds_until_a_time_through_the_service(client, admin, space, teams):
    client.force_login(admin)
    when = timezone.localtime(soon(days=2)).replace(second=0, microsecond=0)
    response = client.post(
        reverse("admin:registries_spacebinding_add"),
        {
            "space": space.pk,
            "workspace": teams[0].pk,
            "expires_0": when.strftime("%Y-%m-%d"),
            "expires_1": when.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302, response.text
    assert ends(space, teams[0]) == when
    assert AuditEvent.objects.get(action="space.bind").after["expires"] == when.isoformat()


def test_django_admin_refuses_a_past_end(client, admin, space, teams):
    client.force_login(admin)
    response = client.post(
        reverse("admin:registries_spacebinding_add"),
        {"space": space.pk, "workspace": teams[0].pk, "expires_0": "2020-01-01", "expires_1": "00:00:00"},
    )
    assert response.status_code == 200
    assert "The end of a binding must be in the future." in response.text
    assert not SpaceBinding.objects.exists()

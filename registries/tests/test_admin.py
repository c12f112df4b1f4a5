"""Registries, spaces and bindings changed in Django admin: the same services as the pages.

Against the Harbor double on real HTTP; a change's on-commit hooks (robot reconciliation,
sync) run as a real commit would run them (``committed``).
"""

import pytest
from django.urls import reverse
from django.utils.html import escape

from portal.models import AuditEvent
from registries import services
from registries.kinds.harbor.tests.harbor_double import ADMIN_PASSWORD, ADMIN_USER
from registries.models import PullCredential, Registry, RegistrySpace, SpaceBinding, SyncRun

pytestmark = pytest.mark.integration

CHECK_FAILED = "The connection check failed; nothing was saved."


def registry_data(double, **overrides):
    data = {
        "kind": "harbor",
        "name": "harbor-main",
        "url": double.url,
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "verify_tls": "on",
        "ca_bundle": "",
        "scope": "platform",
        "workspace": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def committed(client, django_capture_on_commit_callbacks):
    """POST as the Admin would, then run what the change's commit starts."""

    def post(url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


@pytest.fixture
def harbor(db, harbor_double, admin) -> Registry:
    for name in ("team-a", "team-b"):
        harbor_double.add_repository(name, "app", tags=["1.0"])
    registry = Registry(name="harbor-main", kind="harbor", url=harbor_double.url, username=ADMIN_USER)
    registry = services.save_registry(registry, admin, password=ADMIN_PASSWORD)
    for name in ("team-a", "team-b"):
        RegistrySpace.objects.create(registry=registry, name=name, visibility="private")
    AuditEvent.objects.all().delete()
    return registry


def space(registry, name) -> RegistrySpace:
    return RegistrySpace.objects.get(registry=registry, name=name)


def pull(double, credential, repository) -> int:
    return double.can_pull(credential.username, credential.get_secret(), repository, "1.0")


# Bindings -----------------------------------------------------------------------------------


def test_finding_6_binding_added_in_admin_is_audited_and_reaches_the_harbor_robot(
    client, committed, admin, workspace, harbor, harbor_double
):
    client.force_login(admin)
    response = committed(
        reverse("admin:registries_spacebinding_add"),
        {"space": space(harbor, "team-a").pk, "workspace": workspace.pk},
    )

    assert response.status_code == 302
    binding = SpaceBinding.objects.get(space__name="team-a", workspace=workspace)
    assert binding.created_by == admin
    event = AuditEvent.objects.get(action="space.bind")
    assert event.actor == admin and event.target_label == "harbor-main/team-a"
    assert event.after == {"workspace": "payments", "workspace_id": workspace.pk}
    credential = PullCredential.objects.get(workspace=workspace, registry=harbor)
    assert credential.state == "done" and credential.granted == ["team-a"]
    assert harbor_double.robot_projects(int(credential.upstream_id)) == ["team-a"]
    assert pull(harbor_double, credential, "team-a/app") == 200
    assert pull(harbor_double, credential, "team-b/app") == 401
    assert client.get(reverse("audit-log")).text.count("space.bind") >= 1


def test_finding_6_binding_deleted_in_admin_unbinds_at_the_registry(
    client, committed, admin, workspace, harbor, harbor_double
):
    client.force_login(admin)
    committed(
        reverse("admin:registries_spacebinding_add"),
        {"space": space(harbor, "team-a").pk, "workspace": workspace.pk},
    )
    credential = PullCredential.objects.get(workspace=workspace, registry=harbor)
    binding = SpaceBinding.objects.get()

    response = committed(reverse("admin:registries_spacebinding_delete", args=[binding.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not SpaceBinding.objects.exists()
    event = AuditEvent.objects.get(action="space.unbind")
    assert event.actor == admin and event.before["workspace"] == "payments"
    assert pull(harbor_double, credential, "team-a/app") == 401
    assert harbor_double.robots == {}


def test_a_binding_that_exists_is_refused_on_the_form(client, admin, workspace, harbor):
    services.change_bindings(space(harbor, "team-a"), admin, add=[workspace])
    client.force_login(admin)
    response = client.post(
        reverse("admin:registries_spacebinding_add"),
        {"space": space(harbor, "team-a").pk, "workspace": workspace.pk},
    )
    assert response.status_code == 200
    assert "This space is already bound to that workspace." in response.text
    assert AuditEvent.objects.filter(action="space.bind").count() == 1


def test_a_workspace_registrys_space_cannot_be_bound_anywhere(client, admin, workspace, other_workspace):
    registry = Registry.objects.create(
        name="team-registry",
        kind="harbor",
        url="https://h.example.com",
        scope="workspace",
        workspace=workspace,
        is_demo=True,
    )
    owned = RegistrySpace.objects.create(registry=registry, name="own", visibility="private")
    client.force_login(admin)
    response = client.post(
        reverse("admin:registries_spacebinding_add"), {"space": owned.pk, "workspace": other_workspace.pk}
    )
    assert response.status_code == 200
    assert not SpaceBinding.objects.exists()
    # The rule lives in the service, whoever calls it.
    with pytest.raises(services.ServiceError, match="Only spaces of platform registries"):
        services.change_bindings(owned, admin, add=[other_workspace])
    assert not SpaceBinding.objects.exists() and not AuditEvent.objects.exists()


# Registries ---------------------------------------------------------------------------------


def test_finding_6_registry_with_a_wrong_password_is_refused_in_admin_as_on_the_page(
    client, admin, harbor_double
):
    client.force_login(admin)
    page = client.post(reverse("registries:create"), registry_data(harbor_double, password="wrong-pw"))
    [message] = page.context["form"].non_field_errors()

    response = client.post(
        reverse("admin:registries_registry_add"), registry_data(harbor_double, password="wrong-pw")
    )

    assert response.status_code == 200
    assert CHECK_FAILED in response.text
    assert escape(message) in response.text
    assert "wrong-pw" not in response.text
    assert not Registry.objects.exists()
    assert not AuditEvent.objects.exists()


def test_registry_added_in_admin_is_checked_audited_and_synced(client, committed, admin, harbor_double):
    harbor_double.add_repository("team-a", "app", tags=["1.0"])
    client.force_login(admin)
    response = committed(reverse("admin:registries_registry_add"), registry_data(harbor_double))

    assert response.status_code == 302
    registry = Registry.objects.get(name="harbor-main")
    assert registry.get_password() == ADMIN_PASSWORD and registry.status == "healthy"
    assert harbor_double.requests_to("/api/v2.0/users/current")
    event = AuditEvent.objects.get(action="registry.create")
    assert event.actor == admin and ADMIN_PASSWORD not in str(event.after)
    assert SyncRun.objects.get(registry=registry).result == "succeeded"
    assert registry.spaces.filter(name="team-a").exists()


def test_registry_edited_in_admin_keeps_a_blank_password_and_is_checked_again(
    client, admin, harbor, harbor_double
):
    harbor_double.clear_requests()
    client.force_login(admin)
    response = client.post(
        reverse("admin:registries_registry_change", args=[harbor.pk]),
        registry_data(harbor_double, password="", ca_bundle="", verify_tls=""),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    harbor.refresh_from_db()
    assert harbor.get_password() == ADMIN_PASSWORD and harbor.verify_tls is False
    assert harbor_double.requests_to("/api/v2.0/users/current")
    event = AuditEvent.objects.get(action="registry.update")
    assert (event.before["verify_tls"], event.after["verify_tls"]) == (True, False)


def test_registry_edit_that_fails_the_check_changes_nothing(client, admin, harbor, harbor_double):
    client.force_login(admin)
    response = client.post(
        reverse("admin:registries_registry_change", args=[harbor.pk]),
        registry_data(harbor_double, username="nobody", password="nope"),
    )
    assert response.status_code == 200 and CHECK_FAILED in response.text
    harbor.refresh_from_db()
    assert harbor.username == ADMIN_USER and harbor.get_password() == ADMIN_PASSWORD
    assert not AuditEvent.objects.exists()


def test_a_workspace_registry_added_in_admin_follows_the_address_rule(
    client, admin, workspace, harbor_double
):
    client.force_login(admin)
    response = client.post(
        reverse("admin:registries_registry_add"),
        registry_data(harbor_double, scope="workspace", workspace=workspace.pk),
    )
    assert response.status_code == 200
    # The Workspace Admin's page refuses the same address with the same words.
    assert "127.0.0.1" in response.context["adminform"].form.errors["url"][0]
    assert not Registry.objects.exists() and not harbor_double.requests_to("/api/v2.0/users/current")


def test_registry_removed_in_admin_goes_through_the_service(client, admin, workspace, harbor):
    services.change_bindings(space(harbor, "team-a"), admin, add=[workspace])
    client.force_login(admin)
    response = client.post(reverse("admin:registries_registry_delete", args=[harbor.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Registry.objects.exists() and not SpaceBinding.objects.exists()
    event = AuditEvent.objects.get(action="registry.delete")
    assert event.actor == admin and event.before["bindings"] == 1


# Spaces -------------------------------------------------------------------------------------


def test_finding_6_visibility_flip_in_admin_is_audited_and_updates_the_robots(
    client, committed, admin, workspace, harbor, harbor_double
):
    client.force_login(admin)
    committed(
        reverse("admin:registries_spacebinding_add"),
        {"space": space(harbor, "team-a").pk, "workspace": workspace.pk},
    )
    committed(
        reverse("admin:registries_spacebinding_add"),
        {"space": space(harbor, "team-b").pk, "workspace": workspace.pk},
    )
    credential = PullCredential.objects.get(workspace=workspace, registry=harbor)
    assert harbor_double.robot_projects(int(credential.upstream_id)) == ["team-a", "team-b"]

    response = committed(
        reverse("admin:registries_registryspace_change", args=[space(harbor, "team-b").pk]),
        {"visibility": "public"},
    )

    assert response.status_code == 302
    assert space(harbor, "team-b").visibility == "public"
    assert harbor_double.projects["team-b"].public is True
    event = AuditEvent.objects.get(action="space.visibility")
    assert (event.actor, event.before, event.after) == (
        admin,
        {"visibility": "private"},
        {"visibility": "public"},
    )
    assert harbor_double.robot_projects(int(credential.upstream_id)) == ["team-a"]
    assert PullCredential.objects.get(pk=credential.pk).granted == ["team-a"]

    committed(
        reverse("admin:registries_registryspace_change", args=[space(harbor, "team-b").pk]),
        {"visibility": "private"},
    )
    assert harbor_double.robot_projects(int(credential.upstream_id)) == ["team-a", "team-b"]
    assert AuditEvent.objects.filter(action="space.visibility").count() == 2


def test_visibility_change_the_registry_refuses_is_not_stored(client, admin, harbor):
    gone = RegistrySpace.objects.create(registry=harbor, name="gone", visibility="private")
    client.force_login(admin)
    response = client.post(
        reverse("admin:registries_registryspace_change", args=[gone.pk]), {"visibility": "public"}
    )
    assert response.status_code == 200
    assert "errornote" in response.text
    gone.refresh_from_db()
    assert gone.visibility == "private"
    assert not AuditEvent.objects.exists()


def test_only_the_visibility_of_a_space_can_change_in_admin(client, admin, harbor):
    team_a = space(harbor, "team-a")
    client.force_login(admin)
    client.post(
        reverse("admin:registries_registryspace_change", args=[team_a.pk]),
        {"visibility": "private", "name": "renamed", "repository_count": 99, "missing": "on"},
    )
    team_a.refresh_from_db()
    assert (team_a.name, team_a.repository_count, team_a.missing) == ("team-a", 0, False)
    assert not AuditEvent.objects.exists()
    assert client.get(reverse("admin:registries_registryspace_add")).status_code == 403


def test_a_workspace_registrys_space_is_view_only_in_admin(client, admin, workspace):
    registry = Registry.objects.create(
        name="team-registry",
        kind="harbor",
        url="https://h.example.com",
        scope="workspace",
        workspace=workspace,
        is_demo=True,
    )
    owned = RegistrySpace.objects.create(registry=registry, name="own", visibility="private")
    client.force_login(admin)
    assert client.get(reverse("admin:registries_registryspace_change", args=[owned.pk])).status_code == 200
    response = client.post(
        reverse("admin:registries_registryspace_change", args=[owned.pk]), {"visibility": "public"}
    )
    assert response.status_code == 403
    owned.refresh_from_db()
    assert owned.visibility == "private" and not AuditEvent.objects.exists()


def test_a_space_with_images_cannot_be_deleted_in_admin(client, admin, harbor, harbor_double):
    full = RegistrySpace.objects.create(registry=harbor, name="full", repository_count=3)
    client.force_login(admin)
    response = client.post(
        reverse("admin:registries_registryspace_delete", args=[full.pk]), {"post": "yes"}, follow=True
    )
    assert "Only empty registry spaces can be deleted" in response.text
    assert RegistrySpace.objects.filter(pk=full.pk).exists()
    assert not AuditEvent.objects.exists()

    harbor_double.add_project("scratch")
    scratch = RegistrySpace.objects.create(registry=harbor, name="scratch")
    response = client.post(
        reverse("admin:registries_registryspace_delete", args=[scratch.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert "scratch" not in harbor_double.projects
    assert AuditEvent.objects.get(action="space.delete").actor == admin


def test_derived_data_is_read_only_in_admin(client, admin, harbor):
    client.force_login(admin)
    for model in ("repository", "tag", "syncrun", "pullcredential", "tokensigningkey"):
        assert client.get(reverse(f"admin:registries_{model}_add")).status_code == 403, model

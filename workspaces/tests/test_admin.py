"""Workspaces, memberships, clusters and namespaces changed in Django admin: the pages' services."""

import pytest
from django.urls import reverse

from conftest import make_user
from portal.models import AuditEvent
from registries.models import Registry, RegistrySpace, SpaceBinding
from workspaces.models import Cluster, Membership, Namespace, Workspace


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


def actions():
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


# Memberships --------------------------------------------------------------------------------


def test_finding_6_removing_the_last_workspace_admin_is_refused_in_admin(signed_in, ws_admin, ws_viewer):
    membership = Membership.objects.get(user=ws_admin)
    response = signed_in.post(
        reverse("admin:workspaces_membership_delete", args=[membership.pk]), {"post": "yes"}, follow=True
    )
    assert (
        "is the last Workspace Admin of payments; make someone else Workspace Admin first." in response.text
    )
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert actions() == []


def test_demoting_the_last_workspace_admin_is_refused_on_the_form(signed_in, ws_admin):
    membership = Membership.objects.get(user=ws_admin)
    response = signed_in.post(
        reverse("admin:workspaces_membership_change", args=[membership.pk]), {"role": "viewer"}
    )
    assert response.status_code == 200
    assert "last Workspace Admin" in response.text
    membership.refresh_from_db()
    assert membership.role == "admin" and actions() == []


def test_member_added_changed_and_removed_in_admin_is_audited(signed_in, admin, workspace, ws_admin):
    dora = make_user("dora")
    response = signed_in.post(
        reverse("admin:workspaces_membership_add"),
        {"user": dora.pk, "workspace": workspace.pk, "role": "viewer"},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=dora)
    signed_in.post(reverse("admin:workspaces_membership_change", args=[membership.pk]), {"role": "editor"})
    membership.refresh_from_db()
    assert membership.role == "editor"
    response = signed_in.post(
        reverse("admin:workspaces_membership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(user=dora).exists()
    assert actions() == ["membership.create", "membership.update", "membership.delete"]
    update = AuditEvent.objects.get(action="membership.update")
    assert (update.actor, update.before, update.after) == (
        admin,
        {"user": "dora", "role": "viewer"},
        {"user": "dora", "role": "editor"},
    )


def test_a_membership_cannot_be_moved_to_another_user_or_workspace(signed_in, ws_viewer, other_workspace):
    membership = Membership.objects.get(user=ws_viewer)
    signed_in.post(
        reverse("admin:workspaces_membership_change", args=[membership.pk]),
        {"role": "viewer", "workspace": other_workspace.pk, "user": ws_viewer.pk},
    )
    membership.refresh_from_db()
    assert membership.workspace.name == "payments"


# Workspaces ---------------------------------------------------------------------------------


def test_workspace_created_and_described_in_admin_is_audited_and_keeps_its_name(signed_in, admin):
    response = signed_in.post(
        reverse("admin:workspaces_workspace_add"), {"name": "ledger", "description": "Ledger team"}
    )
    assert response.status_code == 302
    workspace = Workspace.objects.get(name="ledger")
    signed_in.post(
        reverse("admin:workspaces_workspace_change", args=[workspace.pk]),
        {"name": "renamed", "description": "Ledger and billing"},
    )
    workspace.refresh_from_db()
    assert (workspace.name, workspace.description) == ("ledger", "Ledger and billing")
    assert actions() == ["workspace.create", "workspace.update"]
    assert AuditEvent.objects.get(action="workspace.update").after == {"description": "Ledger and billing"}


def test_a_bad_workspace_name_is_refused_on_the_field(signed_in):
    response = signed_in.post(
        reverse("admin:workspaces_workspace_add"), {"name": "Bad Name", "description": ""}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"]
    assert not Workspace.objects.exists() and actions() == []


def test_workspace_with_bindings_cannot_be_deleted_in_admin(signed_in, admin, workspace):
    registry = Registry.objects.create(name="demo", kind="harbor", url="https://h.example.com", is_demo=True)
    space = RegistrySpace.objects.create(registry=registry, name="team-a")
    SpaceBinding.objects.create(space=space, workspace=workspace)
    response = signed_in.post(
        reverse("admin:workspaces_workspace_delete", args=[workspace.pk]), {"post": "yes"}, follow=True
    )
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    assert "demo/team-a" in response.text
    assert actions() == []


def test_empty_workspace_deleted_in_admin_is_audited(signed_in, admin, other_workspace):
    response = signed_in.post(
        reverse("admin:workspaces_workspace_delete", args=[other_workspace.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Workspace.objects.filter(pk=other_workspace.pk).exists()
    assert AuditEvent.objects.get(action="workspace.delete").actor == admin


# Clusters and namespaces --------------------------------------------------------------------


def test_namespace_bound_in_admin_is_audited_and_not_moved_across_workspaces(
    signed_in, admin, workspace, other_workspace
):
    response = signed_in.post(reverse("admin:workspaces_cluster_add"), {"name": "prod", "description": ""})
    assert response.status_code == 302
    cluster = Cluster.objects.get(name="prod")
    signed_in.post(
        reverse("admin:workspaces_namespace_add"), {"cluster": cluster.pk, "name": "web", "workspace": ""}
    )
    namespace = Namespace.objects.get(name="web")
    signed_in.post(
        reverse("admin:workspaces_namespace_change", args=[namespace.pk]), {"workspace": workspace.pk}
    )
    namespace.refresh_from_db()
    assert namespace.workspace == workspace

    refused = signed_in.post(
        reverse("admin:workspaces_namespace_change", args=[namespace.pk]), {"workspace": other_workspace.pk}
    )
    assert refused.status_code == 200
    assert "already belongs to workspace payments" in refused.text
    namespace.refresh_from_db()
    assert namespace.workspace == workspace
    assert actions() == ["cluster.create", "namespace.create", "namespace.bind"]
    bind = AuditEvent.objects.get(action="namespace.bind")
    assert (bind.actor, bind.before, bind.after) == (admin, {"workspace": None}, {"workspace": "payments"})


def test_namespace_deleted_in_admin_is_audited(signed_in, admin, workspace):
    namespace = Namespace.objects.create(
        cluster=Cluster.objects.create(name="prod"), name="web", workspace=workspace
    )
    response = signed_in.post(
        reverse("admin:workspaces_namespace_delete", args=[namespace.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Namespace.objects.exists()
    event = AuditEvent.objects.get(action="namespace.delete")
    assert event.before == {"cluster": "prod", "name": "web", "workspace": "payments"}


def test_clusters_are_created_but_never_changed_or_deleted_in_admin(signed_in):
    cluster = Cluster.objects.create(name="prod")
    assert signed_in.get(reverse("admin:workspaces_cluster_change", args=[cluster.pk])).status_code == 200
    signed_in.post(reverse("admin:workspaces_cluster_change", args=[cluster.pk]), {"name": "x"})
    assert (
        signed_in.post(
            reverse("admin:workspaces_cluster_delete", args=[cluster.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    cluster.refresh_from_db()
    assert cluster.name == "prod"


def test_workspace_members_see_nothing_of_the_workspace_in_admin(client, ws_admin, workspace):
    client.force_login(ws_admin)
    response = client.get(reverse("admin:workspaces_workspace_change", args=[workspace.pk]))
    assert response.status_code == 302
    response = client.post(
        reverse("admin:workspaces_membership_add"),
        {"user": ws_admin.pk, "workspace": workspace.pk, "role": "admin"},
    )
    assert response.status_code == 302 and actions() == []

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction

from conftest import make_user
from workspaces.models import Cluster, Membership, Namespace, Workspace


@pytest.mark.parametrize("name", ["Payments", "-edge", "edge-", "has_underscore", "a" * 64, ""])
def test_workspace_name_must_be_a_dns_label(db, name):
    workspace = Workspace(name=name)
    with pytest.raises(ValidationError) as raised:
        workspace.full_clean()
    assert "name" in raised.value.message_dict
    # PostgreSQL refuses an over-long name as DataError, the rest as constraint violations.
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        workspace.save()
    assert not Workspace.objects.exists()


def test_duplicate_workspace_name_is_refused_with_a_message(workspace):
    duplicate = Workspace(name=workspace.name)
    with pytest.raises(ValidationError) as raised:
        duplicate.full_clean()
    assert raised.value.message_dict["name"] == ["A workspace with this name already exists."]
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_one_membership_per_user_and_workspace(ws_editor, workspace):
    duplicate = Membership(user=ws_editor, workspace=workspace, role="viewer")
    with pytest.raises(ValidationError, match="already a member"):
        duplicate.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    assert Membership.objects.get(user=ws_editor).role == "editor"


def test_membership_with_unknown_role_is_refused(workspace):
    user = make_user("someone")
    membership = Membership(user=user, workspace=workspace, role="owner")
    with pytest.raises(ValidationError) as raised:
        membership.full_clean()
    assert "role" in raised.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        membership.save()
    assert not Membership.objects.filter(user=user).exists()


def test_namespace_name_is_unique_within_its_cluster_only(db):
    prod, dev = Cluster.objects.create(name="prod"), Cluster.objects.create(name="dev")
    Namespace.objects.create(cluster=prod, name="payments")
    Namespace.objects.create(cluster=dev, name="payments")
    with pytest.raises(IntegrityError), transaction.atomic():
        Namespace.objects.create(cluster=prod, name="payments")


def test_namespace_belongs_to_at_most_one_workspace(workspace, other_workspace):
    namespace = Namespace.objects.create(
        cluster=Cluster.objects.create(name="prod"), name="payments", workspace=workspace
    )
    namespace.workspace = other_workspace
    namespace.save()
    namespace.refresh_from_db()
    assert namespace.workspace == other_workspace
    assert list(workspace.namespaces.all()) == []


def test_workspace_with_namespaces_cannot_be_deleted(workspace):
    from django.db.models import ProtectedError

    Namespace.objects.create(
        cluster=Cluster.objects.create(name="prod"), name="payments", workspace=workspace
    )
    with pytest.raises(ProtectedError):
        workspace.delete()
    assert Workspace.objects.filter(pk=workspace.pk).exists()

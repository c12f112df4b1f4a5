"""workspaces/scope.py: the one getter deciding 404 (not yours) or 403 (yours, role too low)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from workspaces.models import Cluster, Namespace
from workspaces.scope import namespace_for, workspace_for


@pytest.fixture
def namespaces(workspace):
    cluster = Cluster.objects.create(name="east")
    return {
        "bound": Namespace.objects.create(cluster=cluster, name="payments-api", workspace=workspace),
        "free": Namespace.objects.create(cluster=cluster, name="sandbox"),
    }


def test_a_namespace_of_another_workspace_is_not_found_whatever_the_action(outsider, namespaces):
    for action in ("browse_images", "fetch_pull_secret"):
        with pytest.raises(Http404):
            namespace_for(outsider, namespaces["bound"].pk, action)


def test_a_namespace_that_does_not_exist_is_not_found(ws_admin, namespaces):
    with pytest.raises(Http404):
        namespace_for(ws_admin, 10**9, "browse_images")


def test_a_viewer_is_refused_what_their_role_does_not_allow_in_their_own_namespace(ws_viewer, namespaces):
    assert namespace_for(ws_viewer, namespaces["bound"].pk, "browse_images") == namespaces["bound"]
    with pytest.raises(PermissionDenied):
        namespace_for(ws_viewer, namespaces["bound"].pk, "fetch_pull_secret")


def test_the_caller_chooses_the_refusal(ws_viewer, namespaces):
    with pytest.raises(ValueError, match="viewers may not"):
        namespace_for(ws_viewer, namespaces["bound"].pk, "use_images", refused=ValueError("viewers may not"))


def test_an_editor_gets_the_namespace_with_its_cluster_and_workspace(
    ws_editor, namespaces, workspace, django_assert_num_queries
):
    namespace = namespace_for(ws_editor, namespaces["bound"].pk, "fetch_pull_secret")
    with django_assert_num_queries(0):  # pages and API show both: read with the namespace
        assert (namespace.cluster.name, namespace.workspace) == ("east", workspace)


def test_an_admin_uses_the_public_images_of_an_unbound_namespace_but_has_no_pull_secret_there(
    admin, namespaces
):
    free = namespaces["free"].pk
    assert namespace_for(admin, free, "use_images") == namespaces["free"]
    with pytest.raises(Http404):
        namespace_for(admin, free, "fetch_pull_secret", unbound=Http404())


def test_a_workspace_is_not_found_for_a_non_member_and_refused_for_a_too_low_role(
    outsider, ws_viewer, ws_admin, workspace
):
    with pytest.raises(Http404):
        workspace_for(outsider, workspace.pk)
    assert workspace_for(ws_viewer, workspace.pk) == workspace
    with pytest.raises(PermissionDenied):
        workspace_for(ws_viewer, workspace.pk, "manage_members")
    assert workspace_for(ws_admin, workspace.pk, "manage_members") == workspace

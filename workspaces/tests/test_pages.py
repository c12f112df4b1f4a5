"""Workspaces and Namespaces pages, for every role."""

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from testkit import factories
from testkit.access import assert_access
from testkit.personas import ADMIN, ANONYMOUS, OUTSIDER, WS_ADMIN, WS_EDITOR, WS_VIEWER, make_user
from workspaces.models import Cluster, Membership, Namespace, Workspace

NOT_ADMINS = {WS_ADMIN: 403, WS_EDITOR: 403, WS_VIEWER: 403, OUTSIDER: 403, ANONYMOUS: 302}
# Everyone signed in sees the workspace's pages but the other workspace's Admin, to whom they
# do not exist.
SEEN_BY_MEMBERS = {ADMIN: 200, WS_ADMIN: 200, WS_EDITOR: 200, WS_VIEWER: 200, OUTSIDER: 404, ANONYMOUS: 302}


@pytest.fixture
def namespace(workspace):
    return factories.make_namespace("payments-prod", workspace)


@pytest.fixture
def free_namespace(db):
    return factories.make_namespace("sandbox")


def test_admin_creates_a_workspace_and_it_is_audited(client, admin):
    client.force_login(admin)
    response = client.post(reverse("workspaces:create"), {"name": "data-team", "description": "Data"})
    workspace = Workspace.objects.get(name="data-team")
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="workspace.create").target_id == str(workspace.pk)


@pytest.mark.parametrize(
    "name, message",
    [
        ("Data Team", "lowercase letters, digits and hyphens"),
        ("payments", "A workspace with this name already exists."),
    ],
)
def test_bad_workspace_name_is_refused_on_the_field(client, admin, workspace, name, message):
    client.force_login(admin)
    response = client.post(reverse("workspaces:create"), {"name": name})
    assert response.status_code == 200
    assert message in response.text
    assert Workspace.objects.count() == 1
    assert not AuditEvent.objects.exists()


def test_only_admin_creates_edits_and_deletes_workspaces(client, workspace):
    assert_access(client, reverse("workspaces:create"), NOT_ADMINS, method="post", data={"name": "new-one"})
    assert_access(
        client,
        reverse("workspaces:edit", args=[workspace.pk]),
        NOT_ADMINS,
        method="post",
        data={"description": "x"},
    )
    assert_access(client, reverse("workspaces:delete", args=[workspace.pk]), NOT_ADMINS, method="post")
    workspace.refresh_from_db()
    assert workspace.description == "Payments team"
    assert not Workspace.objects.filter(name="new-one").exists()


def test_members_see_their_workspace_and_outsiders_get_404(client, workspace, ws_viewer, outsider):
    assert_access(client, reverse("workspaces:detail", args=[workspace.pk]), SEEN_BY_MEMBERS)
    client.force_login(ws_viewer)
    assert "ws-viewer" in client.get(reverse("workspaces:detail", args=[workspace.pk])).text
    client.force_login(outsider)
    listing = client.get(reverse("workspaces:list"))
    assert "payments" not in listing.text


def test_workspace_list_shows_all_to_admin_and_own_to_members(
    client, admin, ws_editor, workspace, other_workspace
):
    client.force_login(admin)
    assert {w.name for w in client.get(reverse("workspaces:list")).context["page"]} == {"payments", "search"}
    client.force_login(ws_editor)
    page = client.get(reverse("workspaces:list"))
    assert [w.name for w in page.context["page"]] == ["payments"]
    assert "Workspace Editor" in page.text


def test_deleting_a_workspace_with_dependents_is_refused_with_a_list(client, admin, workspace, namespace):
    factories.bind(factories.make_space(factories.make_registry("harbor", is_demo=False), "pay"), workspace)
    client.force_login(admin)
    page = client.get(reverse("workspaces:delete", args=[workspace.pk]))
    assert "prod/payments-prod" in page.text
    assert "harbor/pay" in page.text
    response = client.post(reverse("workspaces:delete", args=[workspace.pk]), follow=True)
    assert "still has namespaces prod/payments-prod" in response.text
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    assert not AuditEvent.objects.filter(action="workspace.delete").exists()


def test_deleting_an_empty_workspace_removes_its_memberships(client, admin, workspace, ws_viewer):
    client.force_login(admin)
    client.post(reverse("workspaces:delete", args=[workspace.pk]))
    assert not Workspace.objects.filter(pk=workspace.pk).exists()
    assert not Membership.objects.exists()
    assert AuditEvent.objects.filter(action="workspace.delete").exists()


def test_workspace_admin_manages_members(client, workspace, ws_admin):
    newcomer = make_user("newcomer")
    client.force_login(ws_admin)
    client.post(
        reverse("workspaces:member-add", args=[workspace.pk]), {"username": "newcomer", "role": "viewer"}
    )
    membership = Membership.objects.get(user=newcomer)
    assert membership.role == "viewer"
    client.post(reverse("workspaces:member-change", args=[workspace.pk, membership.pk]), {"role": "editor"})
    membership.refresh_from_db()
    assert membership.role == "editor"
    client.post(reverse("workspaces:member-remove", args=[workspace.pk, membership.pk]))
    assert not Membership.objects.filter(user=newcomer).exists()
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "membership.create",
        "membership.update",
        "membership.delete",
    ]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"username": "ghost", "role": "viewer"}, "There is no user named ghost."),
        ({"username": "ws-editor", "role": "viewer"}, "ws-editor is already a member of this workspace."),
        ({"username": "ws-editor", "role": "owner"}, "Select a valid choice."),
    ],
)
def test_bad_member_input_says_why_and_changes_nothing(client, workspace, ws_admin, ws_editor, data, message):
    client.force_login(ws_admin)
    response = client.post(reverse("workspaces:member-add", args=[workspace.pk]), data, follow=True)
    assert message in response.text
    assert Membership.objects.get(user=ws_editor).role == "editor"
    assert not AuditEvent.objects.exists()


def test_editors_and_viewers_cannot_manage_members_and_outsiders_get_404(client, workspace):
    make_user("newcomer")
    assert_access(
        client,
        reverse("workspaces:member-add", args=[workspace.pk]),
        {WS_EDITOR: 403, WS_VIEWER: 403, OUTSIDER: 404, ANONYMOUS: 302},
        method="post",
        data={"username": "newcomer", "role": "admin"},
    )
    assert not Membership.objects.filter(user__username="newcomer").exists()


def test_outsider_cannot_touch_another_workspaces_members(client, workspace, outsider, ws_viewer):
    membership = Membership.objects.get(user=ws_viewer)
    for action, data in (("member-change", {"role": "admin"}), ("member-remove", None)):
        assert_access(
            client,
            reverse(f"workspaces:{action}", args=[workspace.pk, membership.pk]),
            {OUTSIDER: 404, WS_EDITOR: 403, ANONYMOUS: 302},
            method="post",
            data=data,
        )
    membership.refresh_from_db()
    assert membership.role == "viewer"


def test_admin_registers_cluster_and_namespace(client, admin, workspace):
    client.force_login(admin)
    client.post(reverse("workspaces:cluster-create"), {"name": "edge"})
    cluster = Cluster.objects.get(name="edge")
    client.post(
        reverse("workspaces:namespace-create"),
        {"cluster": cluster.pk, "name": "shop", "workspace": workspace.pk},
    )
    assert Namespace.objects.get(name="shop").workspace == workspace
    duplicate = client.post(reverse("workspaces:namespace-create"), {"cluster": cluster.pk, "name": "shop"})
    assert "Cluster edge already has a namespace shop." in duplicate.text
    assert Namespace.objects.filter(name="shop").count() == 1


def test_bind_namespace_and_unbind_it(client, admin, workspace, free_namespace):
    client.force_login(admin)
    client.post(reverse("workspaces:namespace-bind", args=[free_namespace.pk]), {"workspace": workspace.pk})
    free_namespace.refresh_from_db()
    assert free_namespace.workspace == workspace
    client.post(reverse("workspaces:namespace-bind", args=[free_namespace.pk]), {"workspace": ""})
    free_namespace.refresh_from_db()
    assert free_namespace.workspace is None
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "namespace.bind",
        "namespace.unbind",
    ]


def test_namespace_in_another_workspace_is_refused_naming_it(client, admin, namespace, other_workspace):
    client.force_login(admin)
    response = client.post(
        reverse("workspaces:namespace-bind", args=[namespace.pk]), {"workspace": other_workspace.pk}
    )
    assert response.status_code == 422
    assert "already belongs to workspace payments" in response.text
    namespace.refresh_from_db()
    assert namespace.workspace.name == "payments"


def test_only_admin_binds_namespaces(client, free_namespace, workspace):
    assert_access(
        client,
        reverse("workspaces:namespace-bind", args=[free_namespace.pk]),
        NOT_ADMINS,
        method="post",
        data={"workspace": workspace.pk},
    )
    free_namespace.refresh_from_db()
    assert free_namespace.workspace is None


def test_namespace_list_shows_members_their_namespaces_only(
    client, ws_viewer, outsider, namespace, free_namespace
):
    client.force_login(ws_viewer)
    page = client.get(reverse("workspaces:namespace-list"))
    assert [ns.name for ns in page.context["page"]] == ["payments-prod"]
    assert "Bind Workspace" not in page.text
    assert_access(client, reverse("workspaces:namespace-detail", args=[namespace.pk]), SEEN_BY_MEMBERS)


def test_namespace_list_filters_unbound_for_admin(client, admin, namespace, free_namespace):
    client.force_login(admin)
    page = client.get(
        reverse("workspaces:namespace-list"), {"bound": "false"}, headers={"HX-Request": "true"}
    )
    assert [ns.name for ns in page.context["page"]] == ["sandbox"]
    assert "<html" not in page.text


def test_navigation_follows_the_role(client, admin, ws_viewer, ws_editor):
    def labels(user):
        client.force_login(user)
        response = client.get(reverse("dashboard"))
        return [item["label"] for section in response.context["navigation"] for item in section["items"]]

    assert "Integrated Registry (Admin)" in labels(admin)
    assert "Audit Log" in labels(admin)
    assert "Namespaces" in labels(ws_viewer)
    assert "Integrated Registry (Admin)" not in labels(ws_viewer)
    assert "Workspaces" in labels(ws_editor)


def test_workspace_pages_use_constant_queries(client, admin, django_assert_max_num_queries):
    for i in range(30):
        Workspace.objects.create(name=f"team-{i}")
    client.force_login(admin)
    with django_assert_max_num_queries(8):
        client.get(reverse("workspaces:list"))
    with django_assert_max_num_queries(8):
        client.get(reverse("workspaces:namespace-list"))


def test_the_last_workspace_admin_cannot_be_removed_or_demoted(client, workspace, ws_admin):
    client.force_login(ws_admin)
    membership = Membership.objects.get(user=ws_admin)
    demoted = client.post(
        reverse("workspaces:member-change", args=[workspace.pk, membership.pk]),
        {"role": "viewer"},
        follow=True,
    )
    assert "ws-admin is the last Workspace Admin of payments" in demoted.text
    client.post(reverse("workspaces:member-remove", args=[workspace.pk, membership.pk]))
    membership.refresh_from_db()
    assert membership.role == "admin"
    assert not AuditEvent.objects.exists()
    second = make_user("second-admin", workspace=workspace, role="admin")
    client.post(reverse("workspaces:member-change", args=[workspace.pk, membership.pk]), {"role": "viewer"})
    membership.refresh_from_db()
    assert membership.role == "viewer"
    assert Membership.objects.get(user=second).role == "admin"

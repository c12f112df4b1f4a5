"""Harbor pull credentials: robot accounts that follow the bindings, against the Harbor double.

Everything goes over real HTTP to the double; tasks run on the immediate backend, and the
on-commit hooks are run by ``django_capture_on_commit_callbacks(execute=True)`` (``commit``).
Pulls are checked the way a kubelet would do them: as the robot, on the double's registry API.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils.timezone import now as timezone_now

from portal.models import AuditEvent
from registries import robots, services
from registries.clients.base import RobotInfo
from registries.kinds.harbor.tests.harbor_double import ADMIN_PASSWORD, ADMIN_USER, API, HarborDouble
from registries.models import PullCredential, Registry, RegistrySpace, SpaceBinding
from registries.pull_secrets import covered_registries, secret_manifest
from workspaces import services as workspace_services
from workspaces.models import Cluster, Namespace, Workspace

pytestmark = pytest.mark.integration


# -- fixtures --------------------------------------------------------------------------------


def make_registry(double: HarborDouble, name: str = "harbor-main", **fields) -> Registry:
    registry = Registry(name=name, kind="harbor", url=double.url, username=ADMIN_USER, **fields)
    registry.set_password(ADMIN_PASSWORD)
    registry.save()
    return registry


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a change's on-commit hooks (and the tasks they enqueue) as a real commit would."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


@pytest.fixture
def harbor(db, harbor_double) -> Registry:
    for name in ("team-a", "team-b", "team-c"):
        harbor_double.add_repository(name, "app", tags=["1.0"])
    harbor_double.add_project("open", public=True)
    harbor_double.add_repository("open", "tool", tags=["1.0"])
    registry = make_registry(harbor_double)
    for name in ("team-a", "team-b", "team-c"):
        RegistrySpace.objects.create(registry=registry, name=name, visibility="private")
    RegistrySpace.objects.create(registry=registry, name="open", visibility="public")
    return registry


def space(registry: Registry, name: str) -> RegistrySpace:
    return RegistrySpace.objects.select_related("registry").get(registry=registry, name=name)


def bind(commit, admin, registry, name, *workspaces):
    return commit(services.change_bindings, space(registry, name), admin, add=list(workspaces))


def unbind(commit, admin, registry, name, *workspaces):
    return commit(services.change_bindings, space(registry, name), admin, remove=list(workspaces))


def credential(workspace, registry) -> PullCredential:
    return PullCredential.objects.get(workspace=workspace, registry=registry)


def pull(double: HarborDouble, cred: PullCredential, repository: str) -> int:
    return double.can_pull(cred.username, cred.get_secret(), repository, "1.0")


def robot_of(double: HarborDouble, cred: PullCredential):
    return double.robots.get(int(cred.upstream_id)) if cred.upstream_id else None


# -- bind, unbind, visibility ----------------------------------------------------------------


def test_first_bind_creates_a_robot_with_pull_on_exactly_the_bound_private_space(
    commit, admin, workspace, harbor, harbor_double
):
    bind(commit, admin, harbor, "team-a", workspace)

    cred = credential(workspace, harbor)
    assert cred.state == "done" and cred.error == "" and cred.reconciled is not None
    assert cred.username == "robot$wharf-ws-payments"  # as Harbor answered it
    assert cred.granted == ["team-a"]
    assert harbor_double.robot_projects(int(cred.upstream_id)) == ["team-a"]
    robot = robot_of(harbor_double, cred)
    assert robot.level == "system" and robot.duration == -1
    assert robot.permissions == [
        {"kind": "project", "namespace": "team-a", "access": [{"resource": "repository", "action": "pull"}]}
    ]
    # Encrypted at rest, and it works.
    assert cred.secret_encrypted and cred.get_secret() not in cred.secret_encrypted
    assert pull(harbor_double, cred, "team-a/app") == 200
    assert pull(harbor_double, cred, "team-b/app") == 401
    assert pull(harbor_double, cred, "open/tool") == 200  # public: no permission needed


def test_robot_names_are_read_from_harbor_whatever_its_prefix(commit, admin, workspace):
    with HarborDouble(robot_prefix="bot+") as double:
        double.add_repository("team-a", "app", tags=["1.0"])
        registry = make_registry(double)
        RegistrySpace.objects.create(registry=registry, name="team-a", visibility="private")
        bind(commit, admin, registry, "team-a", workspace)
        cred = credential(workspace, registry)
        assert cred.username == "bot+wharf-ws-payments"
        assert pull(double, cred, "team-a/app") == 200


def test_a_second_bind_updates_the_same_robot(commit, admin, workspace, harbor, harbor_double):
    bind(commit, admin, harbor, "team-a", workspace)
    first = credential(workspace, harbor)
    bind(commit, admin, harbor, "team-b", workspace)

    cred = credential(workspace, harbor)
    assert (cred.upstream_id, cred.username, cred.get_secret()) == (
        first.upstream_id,
        first.username,
        first.get_secret(),
    )
    assert cred.granted == ["team-a", "team-b"] and cred.state == "done"
    assert harbor_double.robot_projects(int(cred.upstream_id)) == ["team-a", "team-b"]
    assert pull(harbor_double, cred, "team-b/app") == 200
    assert len(harbor_double.robots) == 1


def test_unbind_removes_the_project_from_the_robot_at_once(commit, admin, workspace, harbor, harbor_double):
    bind(commit, admin, harbor, "team-a", workspace)
    bind(commit, admin, harbor, "team-b", workspace)
    cred = credential(workspace, harbor)
    assert pull(harbor_double, cred, "team-b/app") == 200

    started = time.perf_counter()
    unbind(commit, admin, harbor, "team-b", workspace)
    denied = pull(harbor_double, cred, "team-b/app")
    elapsed = time.perf_counter() - started

    assert denied == 401
    assert elapsed < 10, f"the robot lost access after {elapsed:.2f} s"
    assert pull(harbor_double, cred, "team-a/app") == 200
    assert credential(workspace, harbor).granted == ["team-a"]


def test_unbinding_the_last_private_space_deletes_the_robot(commit, admin, workspace, harbor, harbor_double):
    bind(commit, admin, harbor, "team-a", workspace)
    cred = credential(workspace, harbor)
    unbind(commit, admin, harbor, "team-a", workspace)

    assert not PullCredential.objects.filter(workspace=workspace).exists()
    assert harbor_double.robots == {}
    assert pull(harbor_double, cred, "team-a/app") == 401


def test_binding_a_public_space_needs_no_robot(commit, admin, workspace, harbor, harbor_double):
    bind(commit, admin, harbor, "open", workspace)
    assert not PullCredential.objects.exists()
    assert not harbor_double.requests_to(f"{API}/robots")


def test_visibility_changes_move_the_project_in_and_out_of_the_robot(
    commit, admin, workspace, other_workspace, harbor, harbor_double
):
    bind(commit, admin, harbor, "team-a", workspace)
    bind(commit, admin, harbor, "team-b", workspace)
    bind(commit, admin, harbor, "team-b", other_workspace)
    cred = credential(workspace, harbor)

    commit(services.set_visibility, space(harbor, "team-b"), admin, "public")
    assert credential(workspace, harbor).granted == ["team-a"]
    assert harbor_double.robot_projects(int(cred.upstream_id)) == ["team-a"]
    assert pull(harbor_double, cred, "team-b/app") == 200  # public now, for anyone
    # The other workspace had only team-b: nothing private left, so no robot.
    assert not PullCredential.objects.filter(workspace=other_workspace).exists()

    commit(services.set_visibility, space(harbor, "team-b"), admin, "private")
    assert credential(workspace, harbor).granted == ["team-a", "team-b"]
    assert harbor_double.robot_projects(int(cred.upstream_id)) == ["team-a", "team-b"]
    assert pull(harbor_double, cred, "team-b/app") == 200
    other = credential(other_workspace, harbor)
    assert other.granted == ["team-b"] and pull(harbor_double, other, "team-b/app") == 200
    assert pull(harbor_double, other, "team-a/app") == 401


def test_deleting_a_space_drops_it_from_the_robots(commit, admin, workspace, harbor, harbor_double):
    harbor_double.add_project("scratch")
    RegistrySpace.objects.create(registry=harbor, name="scratch", visibility="private")
    bind(commit, admin, harbor, "team-a", workspace)
    bind(commit, admin, harbor, "scratch", workspace)
    assert credential(workspace, harbor).granted == ["scratch", "team-a"]

    commit(services.delete_space, space(harbor, "scratch"), admin)
    cred = credential(workspace, harbor)
    assert cred.granted == ["team-a"] and cred.state == "done"
    assert harbor_double.robot_projects(int(cred.upstream_id)) == ["team-a"]


def test_each_workspace_gets_its_own_robot(commit, admin, workspace, other_workspace, harbor, harbor_double):
    bind(commit, admin, harbor, "team-a", workspace)
    bind(commit, admin, harbor, "team-b", other_workspace)
    mine, theirs = credential(workspace, harbor), credential(other_workspace, harbor)
    assert mine.upstream_id != theirs.upstream_id
    assert pull(harbor_double, mine, "team-b/app") == 401
    assert pull(harbor_double, theirs, "team-a/app") == 401
    assert pull(harbor_double, theirs, "team-b/app") == 200


# -- Harbor down: kept, failed with the reason, retried --------------------------------------


# A real commit: the view reads the outcome of the task its commit ran.
@pytest.mark.django_db(transaction=True)
def test_harbor_down_during_a_bind_keeps_the_binding_and_fails_with_the_reason(
    commit, client, admin, workspace, harbor, harbor_double
):
    harbor_double.fail_on(f"{API}/robots", 503)
    bind(commit, admin, harbor, "team-a", workspace)

    assert SpaceBinding.objects.filter(space__name="team-a", workspace=workspace).exists()
    cred = credential(workspace, harbor)
    assert cred.state == "failed" and cred.attempts == 1
    assert "HTTP 503" in cred.error and harbor_double.url in cred.error
    assert cred.granted == [] and cred.upstream_id == "" and not cred.secret_encrypted

    # Shown on the space page, with Retry.
    client.force_login(admin)
    page = client.get(reverse("registries:spaces", args=[harbor.pk])).text
    assert "failed" in page and "HTTP 503" in page
    retry_url = reverse("registries:credential-retry", args=[harbor.pk, cred.pk])
    assert retry_url in page

    # Still down: the retry fails again, counted.
    response = commit(client.post, retry_url, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert "Retry failed" in json.loads(response["HX-Trigger"])["showToast"]["message"]
    assert credential(workspace, harbor).attempts == 2

    harbor_double.clear_faults()
    response = commit(client.post, retry_url, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert "spaces-changed" in response["HX-Trigger"]
    cred = credential(workspace, harbor)
    assert cred.state == "done" and cred.error == "" and cred.attempts == 0
    assert cred.granted == ["team-a"] and pull(harbor_double, cred, "team-a/app") == 200
    assert "in Harbor" in client.get(reverse("registries:spaces", args=[harbor.pk])).text


def test_an_unreachable_harbor_is_a_failure_with_the_reason(commit, admin, workspace, harbor, harbor_double):
    harbor_double.stop()
    bind(commit, admin, harbor, "team-a", workspace)
    cred = credential(workspace, harbor)
    assert cred.state == "failed" and "Cannot connect" in cred.error


def test_harbor_down_during_an_unbind_is_never_half_applied(commit, admin, workspace, harbor, harbor_double):
    bind(commit, admin, harbor, "team-a", workspace)
    bind(commit, admin, harbor, "team-b", workspace)
    harbor_double.fail_on(f"{API}/robots", 500, method="PUT")
    unbind(commit, admin, harbor, "team-b", workspace)

    cred = credential(workspace, harbor)
    assert not SpaceBinding.objects.filter(space__name="team-b").exists()  # the unbind is kept
    assert cred.state == "failed" and "HTTP 500" in cred.error
    # Harbor still grants team-b, and Wharf says so: granted is what Harbor confirmed.
    assert cred.granted == ["team-a", "team-b"]
    assert harbor_double.robot_projects(int(cred.upstream_id)) == ["team-a", "team-b"]

    harbor_double.clear_faults()
    outcome = robots.reconcile(cred)
    assert outcome.state == "done" and outcome.granted == ["team-a"]
    assert pull(harbor_double, cred, "team-b/app") == 401
    assert credential(workspace, harbor).granted == ["team-a"]


# -- drift -----------------------------------------------------------------------------------


def test_a_robot_deleted_in_harbor_is_recreated_with_a_new_secret(
    commit, admin, workspace, harbor, harbor_double
):
    bind(commit, admin, harbor, "team-a", workspace)
    old = credential(workspace, harbor)
    harbor_double.delete_robot(int(old.upstream_id))
    assert pull(harbor_double, old, "team-a/app") == 401

    outcome = robots.reconcile(old)
    assert "robot was deleted in Harbor" in outcome.actions
    cred = credential(workspace, harbor)
    assert cred.state == "done" and cred.upstream_id != old.upstream_id
    assert cred.get_secret() != old.get_secret()
    assert cred.get_secret() not in cred.secret_encrypted
    assert pull(harbor_double, cred, "team-a/app") == 200


def test_robot_permissions_edited_in_harbor_are_put_back(commit, admin, workspace, harbor, harbor_double):
    bind(commit, admin, harbor, "team-a", workspace)
    cred = credential(workspace, harbor)
    robot_id = int(cred.upstream_id)
    harbor_double.set_robot_permissions(robot_id, ["team-a", "team-c"], actions=("pull", "push"))
    assert pull(harbor_double, cred, "team-c/app") == 200

    outcome = robots.reconcile(cred)
    assert "repaired a robot edited in Harbor" in outcome.actions
    assert harbor_double.robots[robot_id].permissions == [
        {"kind": "project", "namespace": "team-a", "access": [{"resource": "repository", "action": "pull"}]}
    ]
    assert pull(harbor_double, cred, "team-c/app") == 401
    assert pull(harbor_double, cred, "team-a/app") == 200


def test_a_robot_disabled_in_harbor_is_enabled_again(commit, admin, workspace, harbor, harbor_double):
    bind(commit, admin, harbor, "team-a", workspace)
    cred = credential(workspace, harbor)
    robot = robot_of(harbor_double, cred)
    robot.disable = robot.user.disabled = True
    assert pull(harbor_double, cred, "team-a/app") == 401
    robots.reconcile(cred)
    assert pull(harbor_double, cred, "team-a/app") == 200


def test_a_secret_changed_in_harbor_is_noticed_by_the_periodic_run(
    commit, admin, workspace, harbor, harbor_double
):
    bind(commit, admin, harbor, "team-a", workspace)
    cred = credential(workspace, harbor)
    robot_of(harbor_double, cred).user.password = "Changed-behind-1"
    assert pull(harbor_double, cred, "team-a/app") == 401
    # A reconcile triggered by a change does not log in as the robot...
    assert robots.reconcile(cred).actions == []
    # ...the periodic one does, and has Harbor generate a new secret.
    outcome = robots.reconcile(cred, verify_secret=True)
    assert any("no longer worked" in action for action in outcome.actions)
    assert pull(harbor_double, credential(workspace, harbor), "team-a/app") == 200


def test_nothing_changes_when_nothing_drifted(commit, admin, workspace, harbor, harbor_double):
    bind(commit, admin, harbor, "team-a", workspace)
    harbor_double.clear_requests()
    outcome = robots.reconcile(credential(workspace, harbor))
    assert outcome.state == "done" and outcome.actions == []
    assert [(r.method, r.path) for r in harbor_double.requests] == [
        ("GET", f"{API}/robots/{credential(workspace, harbor).upstream_id}")
    ]


def test_a_leftover_robot_of_this_wharf_is_replaced(commit, admin, workspace, harbor, harbor_double):
    # Created in Harbor, then the answer was lost (the row never learnt the id).
    with robots._client(harbor) as client:
        client.create_robot("wharf-ws-payments", ["team-c"], robots.robot_description(workspace))
    bind(commit, admin, harbor, "team-a", workspace)
    cred = credential(workspace, harbor)
    assert cred.state == "done"
    assert [r.name for r in harbor_double.robots.values()] == ["wharf-ws-payments"]
    assert harbor_double.robot_projects(int(cred.upstream_id)) == ["team-a"]


def test_a_foreign_robot_with_the_same_name_is_left_alone(commit, admin, workspace, harbor, harbor_double):
    foreign = harbor_double.add_robot("wharf-ws-payments", "Foreign-secret-1", projects=["team-c"])
    bind(commit, admin, harbor, "team-a", workspace)
    cred = credential(workspace, harbor)
    assert cred.state == "failed"
    assert "already has a robot account named wharf-ws-payments that this Wharf does not manage" in cred.error
    assert harbor_double.robots[foreign.id].readable_projects() == {"team-c"}


# -- workspace and registry removal, leftovers -----------------------------------------------


def leave_a_robot_behind(commit, admin, workspace, harbor, harbor_double) -> PullCredential:
    """Unbind while Harbor refuses deletions: the robot stays, the credential failed."""
    bind(commit, admin, harbor, "team-a", workspace)
    fault = harbor_double.fail_on(f"{API}/robots", 503, method="DELETE")
    unbind(commit, admin, harbor, "team-a", workspace)
    harbor_double.faults.remove(fault)
    cred = credential(workspace, harbor)
    assert cred.state == "failed" and robot_of(harbor_double, cred) is not None
    return cred


def test_deleting_a_workspace_deletes_its_robot(commit, admin, workspace, harbor, harbor_double):
    cred = leave_a_robot_behind(commit, admin, workspace, harbor, harbor_double)
    commit(workspace_services.delete_workspace, workspace, admin)
    assert not Workspace.objects.filter(pk=workspace.pk).exists()
    assert harbor_double.robots == {}
    assert pull(harbor_double, cred, "team-a/app") == 401


def test_a_robot_harbor_could_not_delete_with_its_workspace_is_swept_later(
    commit, admin, workspace, harbor, harbor_double
):
    cred = leave_a_robot_behind(commit, admin, workspace, harbor, harbor_double)
    harbor_double.fail_on(f"{API}/robots", 503, method="DELETE")
    commit(workspace_services.delete_workspace, workspace, admin)
    assert robot_of(harbor_double, cred) is not None  # still there: Harbor refused
    harbor_double.clear_faults()

    outcomes = robots.reconcile_all()
    assert any("deleted leftover robot robot$wharf-ws-payments" in o.actions for o in outcomes)
    assert harbor_double.robots == {}


def test_the_sweep_leaves_other_robots_alone(commit, admin, workspace, harbor, harbor_double):
    harbor_double.add_robot("wharf-ws-ghost", "Someone-else-1", projects=["team-a"])  # not ours
    bind(commit, admin, harbor, "team-a", workspace)
    robots.reconcile_all()
    assert sorted(r.name for r in harbor_double.robots.values()) == ["wharf-ws-ghost", "wharf-ws-payments"]


def test_removing_the_registry_deletes_its_robots(commit, admin, workspace, harbor, harbor_double):
    bind(commit, admin, harbor, "team-a", workspace)
    assert len(harbor_double.robots) == 1
    commit(services.remove_registry, harbor, admin)
    assert not Registry.objects.exists()
    assert harbor_double.robots == {}


# -- what gets robots ------------------------------------------------------------------------


def test_demo_registries_are_never_contacted(commit, admin, workspace):
    registry = Registry.objects.create(name="demo", kind="harbor", url="http://127.0.0.1:9", is_demo=True)
    RegistrySpace.objects.create(registry=registry, name="team-a", visibility="private")
    bind(commit, admin, registry, "team-a", workspace)
    assert not PullCredential.objects.exists()
    assert robots.reconcile((workspace, registry)).state == "skipped"


def test_workspace_harbor_registries_get_no_robots(commit, admin, workspace, harbor_double):
    registry = make_registry(harbor_double, "ws-harbor", scope="workspace", workspace=workspace)
    outcome = robots.reconcile((workspace, registry))
    assert outcome.state == "skipped" and "own Harbor account" in outcome.error
    assert not harbor_double.requests_to(f"{API}/robots")


def test_rotating_the_secret_keeps_the_robot_and_audits_without_the_secret(
    commit, admin, workspace, harbor, harbor_double
):
    bind(commit, admin, harbor, "team-a", workspace)
    old = credential(workspace, harbor)
    outcome = commit(robots.rotate_secret, old, admin)
    assert outcome.actions == ["rotated the secret"]
    cred = credential(workspace, harbor)
    assert cred.upstream_id == old.upstream_id and cred.get_secret() != old.get_secret()
    assert pull(harbor_double, old, "team-a/app") == 401
    assert pull(harbor_double, cred, "team-a/app") == 200
    event = AuditEvent.objects.get(action="pull_credential.rotate")
    assert cred.get_secret() not in json.dumps([event.before, event.after, event.target_label])


# -- secrets stay secret ---------------------------------------------------------------------


def test_secrets_never_reach_logs_audit_events_or_pages(
    commit, client, admin, workspace, harbor, harbor_double, caplog
):
    caplog.set_level(logging.DEBUG)
    bind(commit, admin, harbor, "team-a", workspace)
    bind(commit, admin, harbor, "team-b", workspace)
    first = credential(workspace, harbor).get_secret()
    harbor_double.delete_robot(int(credential(workspace, harbor).upstream_id))
    robots.reconcile_all()
    commit(robots.rotate_secret, credential(workspace, harbor), admin)
    cred = credential(workspace, harbor)
    secrets = [first, cred.get_secret()]

    client.force_login(admin)
    page = client.get(reverse("registries:spaces", args=[harbor.pk])).text
    retried = commit(client.post, reverse("registries:credential-retry", args=[harbor.pk, cred.pk]))
    output = StringIO()
    call_command("reconcile_credentials", stdout=output)
    events = json.dumps([[e.before, e.after, e.target_label] for e in AuditEvent.objects.all()])
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in events
        assert secret not in page and secret not in retried.content.decode()
        assert secret not in output.getvalue()
        assert secret not in repr(cred) and secret not in str(cred)
        assert secret not in repr(RobotInfo(id=1, name="x", secret=secret))


# -- the Retry button ------------------------------------------------------------------------


@pytest.fixture
def failed_credential(commit, admin, workspace, harbor, harbor_double) -> PullCredential:
    harbor_double.fail_on(f"{API}/robots", 503, times=1)
    bind(commit, admin, harbor, "team-a", workspace)
    cred = credential(workspace, harbor)
    assert cred.state == "failed"
    return cred


@pytest.mark.parametrize("persona", ["ws_admin", "ws_editor", "ws_viewer", "outsider"])
def test_retry_is_for_admins_only(commit, client, request, persona, harbor, failed_credential):
    client.force_login(request.getfixturevalue(persona))
    url = reverse("registries:credential-retry", args=[harbor.pk, failed_credential.pk])
    assert commit(client.post, url).status_code == 403
    assert credential(failed_credential.workspace, harbor).state == "failed"


def test_retry_needs_a_login_and_a_post(commit, client, admin, harbor, failed_credential):
    url = reverse("registries:credential-retry", args=[harbor.pk, failed_credential.pk])
    assert commit(client.post, url).status_code == 302  # to the login page
    client.force_login(admin)
    assert client.get(url).status_code == 405


def test_retry_of_another_registrys_credential_is_a_404(
    commit, client, admin, harbor, failed_credential, harbor_double
):
    other = make_registry(harbor_double, "other-harbor")
    client.force_login(admin)
    url = reverse("registries:credential-retry", args=[other.pk, failed_credential.pk])
    assert commit(client.post, url).status_code == 404


# A real commit: the view reads the outcome of the task its commit ran.
@pytest.mark.django_db(transaction=True)
def test_retry_without_htmx_redirects_with_a_message_and_is_audited(
    commit, client, admin, harbor, failed_credential
):
    client.force_login(admin)
    url = reverse("registries:credential-retry", args=[harbor.pk, failed_credential.pk])
    response = commit(client.post, url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("registries:spaces", args=[harbor.pk])
    assert "is up to date in Harbor" in response.text
    event = AuditEvent.objects.get(action="credential.retry")
    assert event.actor == admin and event.before["state"] == "failed"


# -- the space page --------------------------------------------------------------------------


def test_space_page_shows_each_bound_workspaces_propagation(
    commit, client, admin, workspace, other_workspace, harbor, harbor_double
):
    bind(commit, admin, harbor, "team-a", workspace)
    bind(commit, admin, harbor, "team-b", other_workspace)
    PullCredential.objects.filter(workspace=other_workspace).update(state="pending")
    bind(commit, admin, harbor, "open", workspace)
    client.force_login(admin)
    page = client.get(reverse("registries:spaces", args=[harbor.pk]))
    rows = {
        s.name: page.text.split(f'id="space-{s.pk}"')[1].split("</tr>")[0]
        for s in RegistrySpace.objects.filter(registry=harbor)
    }
    assert "in Harbor" in rows["team-a"]
    assert "pending" in rows["team-b"] and "search" in rows["team-b"]
    assert "in Harbor" not in rows["open"] and "pending" not in rows["open"]  # public: no robot
    row = client.get(reverse("registries:space-row", args=[harbor.pk, space(harbor, "team-a").pk]))
    assert "in Harbor" in row.text


def test_space_page_query_count_stays_constant_with_credentials(
    commit, client, admin, harbor, django_assert_max_num_queries
):
    workspaces = [Workspace.objects.create(name=f"ws-{i}") for i in range(6)]
    client.force_login(admin)

    def fill(count):
        for i in range(count):
            item = RegistrySpace.objects.create(registry=harbor, name=f"space-{count}-{i}")
            SpaceBinding.objects.bulk_create(SpaceBinding(space=item, workspace=w) for w in workspaces[:3])
        for index, w in enumerate(workspaces):
            PullCredential.objects.update_or_create(
                workspace=w,
                registry=harbor,
                defaults={"state": ["done", "pending", "failed"][index % 3], "error": "HTTP 503"},
            )

    url = reverse("registries:spaces", args=[harbor.pk])
    fill(3)
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    fill(30)
    with django_assert_max_num_queries(12) as many:
        assert "Retry" in client.get(url).text
    assert len(many.captured_queries) == len(few.captured_queries)


# -- the periodic command --------------------------------------------------------------------


def test_command_prints_a_line_per_pair_and_succeeds(
    commit, admin, workspace, other_workspace, harbor, harbor_double
):
    bind(commit, admin, harbor, "team-a", workspace)
    bind(commit, admin, harbor, "team-b", other_workspace)
    # A binding made before robots existed (no credential row): the command creates its robot.
    SpaceBinding.objects.create(space=space(harbor, "team-c"), workspace=other_workspace)
    output = StringIO()
    call_command("reconcile_credentials", stdout=output)
    lines = output.getvalue().splitlines()
    assert lines == [
        "payments @ harbor-main: done, pull on team-a",
        "search @ harbor-main: done, pull on team-b, team-c [updated permissions]",
    ]
    assert harbor_double.robot_projects(int(credential(other_workspace, harbor).upstream_id)) == [
        "team-b",
        "team-c",
    ]


def test_command_fails_with_status_1_when_harbor_is_down(
    commit, admin, workspace, other_workspace, harbor, harbor_double
):
    bind(commit, admin, harbor, "team-a", workspace)
    bind(commit, admin, harbor, "team-b", other_workspace)
    harbor_double.stop()
    output = StringIO()
    with pytest.raises(CommandError, match="2 of 2 pull credentials failed"):
        call_command("reconcile_credentials", stdout=output)
    lines = output.getvalue().splitlines()
    assert len(lines) == 2 and all("failed: Cannot connect" in line for line in lines)
    assert set(PullCredential.objects.values_list("state", flat=True)) == {"failed"}


def test_command_says_when_there_is_nothing_to_do(db):
    output = StringIO()
    call_command("reconcile_credentials", stdout=output)
    assert output.getvalue().strip() == "No Harbor pull credentials to reconcile."


def test_command_rotates_the_named_workspaces_secrets(commit, admin, workspace, harbor, harbor_double):
    bind(commit, admin, harbor, "team-a", workspace)
    old = credential(workspace, harbor).get_secret()
    with pytest.raises(CommandError, match="needs --workspace"):
        call_command("reconcile_credentials", "--rotate", stdout=StringIO())
    output = StringIO()
    call_command("reconcile_credentials", "--rotate", "--workspace", "payments", stdout=output)
    assert (
        "robot$wharf-ws-payments.b is the credential, robot$wharf-ws-payments works until"
        in output.getvalue()
    )
    assert credential(workspace, harbor).get_secret() != old
    with pytest.raises(CommandError, match="No workspace named 'nope'"):
        call_command("reconcile_credentials", "--workspace", "nope", stdout=StringIO())


# -- end to end: the Admin's clicks, real commits, pulls as the robot ------------------------


@pytest.mark.django_db(transaction=True)
def test_end_to_end_the_robots_follow_the_bindings(
    client, admin, workspace, other_workspace, harbor, harbor_double
):
    client.force_login(admin)
    team_a = space(harbor, "team-a")
    dialog = reverse("registries:space-bindings", args=[harbor.pk, team_a.pk])
    htmx = {"HX-Request": "true"}
    # Another workspace holds a robot of its own throughout (bound elsewhere).
    client.post(
        reverse("registries:space-bindings", args=[harbor.pk, space(harbor, "team-b").pk]),
        {"workspaces": [other_workspace.pk]},
        headers=htmx,
    )
    theirs = credential(other_workspace, harbor)

    assert harbor_double.can_pull("", "", "open/tool", "1.0") == 200  # public: anonymous
    assert harbor_double.can_pull("", "", "team-a/app", "1.0") == 401
    assert not PullCredential.objects.filter(workspace=workspace).exists()  # denied before binding

    assert client.post(dialog, {"workspaces": [workspace.pk]}, headers=htmx).status_code == 204
    mine = credential(workspace, harbor)
    assert mine.state == "done" and pull(harbor_double, mine, "team-a/app") == 200
    assert pull(harbor_double, theirs, "team-a/app") == 401

    # The namespace's registry-secret carries exactly this robot for this Harbor.
    namespace = Namespace.objects.create(
        cluster=Cluster.objects.create(name="prod"), name="shop", workspace=workspace
    )
    manifest = secret_manifest(namespace, covered_registries(workspace))
    auths = json.loads(base64.b64decode(manifest["data"][".dockerconfigjson"]))["auths"]
    entry = auths[harbor.host]
    assert harbor_double.can_pull(entry["username"], entry["password"], "team-a/app", "1.0") == 200
    assert harbor_double.can_pull(entry["username"], entry["password"], "team-b/app", "1.0") == 401

    started = time.perf_counter()
    response = client.post(dialog, {"shown": [workspace.pk], "workspaces": []}, headers=htmx)
    assert response.status_code == 204
    assert pull(harbor_double, mine, "team-a/app") == 401  # denied again at once
    elapsed = time.perf_counter() - started
    assert elapsed < 10
    assert pull(harbor_double, theirs, "team-a/app") == 401
    assert pull(harbor_double, theirs, "team-b/app") == 200


def test_a_project_made_public_in_harbor_leaves_the_robot_after_the_next_sync(
    commit, admin, workspace, harbor, harbor_double
):
    from registries.sync import sync_registry

    bind(commit, admin, harbor, "team-a", workspace)
    bind(commit, admin, harbor, "team-b", workspace)
    cred = credential(workspace, harbor)
    harbor_double.projects["team-b"].public = True

    run = commit(sync_registry, harbor)

    assert run.result == "succeeded"
    assert space(harbor, "team-b").visibility == "public"
    assert credential(workspace, harbor).granted == ["team-a"]
    assert harbor_double.robot_projects(int(cred.upstream_id)) == ["team-a"]


# -- rotation with an overlap window (finding 5) ----------------------------------------------


def copy_of(cred: PullCredential) -> tuple[str, str]:
    """What a namespace's registry-secret holds: the robot's name and secret."""
    return cred.username, cred.get_secret()


def test_finding_5_harbor_rotation_keeps_the_old_robot_only_for_the_overlap_window(
    commit, admin, workspace, harbor, harbor_double, settings
):
    settings.WHARF_CREDENTIAL_OVERLAP = 5
    bind(commit, admin, harbor, "team-a", workspace)
    bind(commit, admin, harbor, "team-b", workspace)
    old = copy_of(credential(workspace, harbor))

    assert commit(services.rotate_pull_credentials, workspace, admin, reason="test") == ["harbor-main"]
    cred = credential(workspace, harbor)
    new = copy_of(cred)
    # A robot has one secret: a second robot takes over, the first works through the window.
    assert (old[0], new[0]) == ("robot$wharf-ws-payments", "robot$wharf-ws-payments.b")
    assert cred.previous_valid() and cred.state == "done"
    for copy in (old, new):
        assert harbor_double.can_pull(*copy, "team-a/app", "1.0") == 200
    assert harbor_double.robot_projects(int(cred.previous_upstream_id)) == ["team-a", "team-b"]

    # An unbind inside the window applies to the old secret too.
    unbind(commit, admin, harbor, "team-a", workspace)
    for copy in (old, new):
        assert harbor_double.can_pull(*copy, "team-a/app", "1.0") != 200
        assert harbor_double.can_pull(*copy, "team-b/app", "1.0") == 200

    # The window ends; the periodic run deletes the old robot, and the old copy is refused.
    cred.refresh_from_db()
    time.sleep(max(0.0, (cred.previous_valid_until - timezone_now()).total_seconds()) + 0.05)
    output = StringIO()
    call_command("reconcile_credentials", stdout=output)
    assert "deleted the previous robot robot$wharf-ws-payments: its overlap ended" in output.getvalue()
    assert harbor_double.can_pull(*old, "team-b/app", "1.0") == 401
    assert harbor_double.can_pull(*new, "team-b/app", "1.0") == 200
    cred.refresh_from_db()
    assert not cred.previous_upstream_id and not cred.previous_secret_hash
    assert list(harbor_double.robots) == [int(cred.upstream_id)]
    event = AuditEvent.objects.get(action="pull_credential.rotate")
    assert event.actor == admin and event.after["reason"] == "test" and event.after["previous_valid_until"]
    assert AuditEvent.objects.get(action="workspace.rotate_pull_credentials").after["registries"] == [
        "harbor-main"
    ]
    events = json.dumps([[e.before, e.after, e.target_label] for e in AuditEvent.objects.all()])
    assert old[1] not in events and new[1] not in events


def test_finding_5_a_member_leaving_rotates_the_workspaces_robot(
    commit, admin, workspace, harbor, harbor_double, ws_admin, ws_editor, ws_viewer, settings
):
    from workspaces.models import Membership

    bind(commit, admin, harbor, "team-a", workspace)
    first = copy_of(credential(workspace, harbor))
    commit(workspace_services.remove_member, Membership.objects.get(user=ws_viewer), ws_admin)
    second = copy_of(credential(workspace, harbor))
    assert second != first
    for copy in (first, second):  # inside the window (WHARF_CREDENTIAL_OVERLAP, an hour)
        assert harbor_double.can_pull(*copy, "team-a/app", "1.0") == 200
    event = AuditEvent.objects.get(action="pull_credential.rotate")
    assert event.actor == ws_admin and event.after["reason"] == "member ws-viewer left the workspace"

    # Rotating again inside the window ends the oldest secret at once: never more than two.
    commit(services.rotate_pull_credentials, workspace, admin, reason="again")
    third = copy_of(credential(workspace, harbor))
    assert third[0] == first[0]  # the names alternate
    assert harbor_double.can_pull(*first, "team-a/app", "1.0") == 401
    assert harbor_double.can_pull(*second, "team-a/app", "1.0") == 200
    assert harbor_double.can_pull(*third, "team-a/app", "1.0") == 200
    assert len(harbor_double.robots) == 2

    # Turned off, a member leaving changes no secret.
    settings.WHARF_ROTATE_ON_MEMBER_LEAVE = False
    commit(workspace_services.remove_member, Membership.objects.get(user=ws_editor), ws_admin)
    assert copy_of(credential(workspace, harbor)) == third

    # Removing the registry deletes both robots.
    commit(services.remove_registry, harbor, admin)
    assert harbor_double.robots == {}


def test_finding_5_an_unbind_of_everything_inside_the_window_deletes_both_robots(
    commit, admin, workspace, harbor, harbor_double
):
    bind(commit, admin, harbor, "team-a", workspace)
    old = copy_of(credential(workspace, harbor))
    commit(services.rotate_pull_credentials, workspace, admin, reason="test")
    new = copy_of(credential(workspace, harbor))
    unbind(commit, admin, harbor, "team-a", workspace)
    assert harbor_double.robots == {}
    assert not PullCredential.objects.exists()
    for copy in (old, new):
        assert harbor_double.can_pull(*copy, "team-a/app", "1.0") == 401


def test_a_rotation_retried_after_its_worker_died_does_not_rotate_twice(
    commit, admin, workspace, harbor, harbor_double, settings
):
    # The worker committed the rotation, then died before recording the task as done; the task
    # is queued again. A second rotation would delete early the robot the namespaces still use.
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    from portal import taskqueue

    def run_worker(worker_id: str):
        # The worker's claim and run, without its loop (which closes the test's connection).
        worker = Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        task = DBTaskResult.objects.ready().get(pk=row.pk)
        task.claim(worker_id)
        worker.run_task(task)

    bind(commit, admin, harbor, "team-a", workspace)
    old = copy_of(credential(workspace, harbor))
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    commit(services.rotate_pull_credentials, workspace, admin, reason="test")
    row = DBTaskResult.objects.get(task_path="registries.tasks.rotate_credential_task")
    run_worker("dies-after-commit")
    new = copy_of(credential(workspace, harbor))
    assert new[0] != old[0] and harbor_double.can_pull(*old, "team-a/app", "1.0") == 200
    DBTaskResult.objects.filter(pk=row.pk).update(
        status="RUNNING",
        finished_at=None,
        return_value=None,
        started_at=timezone_now() - timedelta(seconds=settings.WHARF_TASK_STALE_AFTER + 1),
    )
    assert [outcome for _task, outcome in taskqueue.requeue_stale()] == ["requeued"]

    run_worker("retry")

    row.refresh_from_db()
    assert (row.status, row.worker_ids) == ("SUCCESSFUL", ["dies-after-commit", "retry"])
    assert row.return_value == {
        "credential": credential(workspace, harbor).pk,
        "state": "unchanged",
        "error": "",
    }
    assert copy_of(credential(workspace, harbor)) == new
    assert harbor_double.can_pull(*old, "team-a/app", "1.0") == 200
    assert harbor_double.can_pull(*new, "team-a/app", "1.0") == 200
    assert AuditEvent.objects.filter(action="pull_credential.rotate").count() == 1


# -- bindings that end ------------------------------------------------------------------------


def test_an_ended_binding_loses_the_robots_pull_when_expire_bindings_runs(
    commit, admin, workspace, harbor, harbor_double
):
    ends = timezone_now() + timedelta(days=1)
    commit(
        services.change_bindings, space(harbor, "team-a"), admin, add=[workspace], expires={workspace: ends}
    )
    cred = credential(workspace, harbor)
    assert pull(harbor_double, cred, "team-a/app") == 200

    # The day has passed.
    SpaceBinding.objects.filter(workspace=workspace).update(expires=timezone_now() - timedelta(seconds=1))
    commit(call_command, "expire_bindings", stdout=StringIO())

    assert not SpaceBinding.objects.filter(workspace=workspace).exists()
    assert pull(harbor_double, cred, "team-a/app") == 401
    assert AuditEvent.objects.get(action="space.unbind").actor_name == "expiry"

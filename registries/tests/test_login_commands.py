"""Generate login command: who gets what, for how long, revocation, the sweep, the API, the
page and the push commands. Token-service registries answer through the token endpoint;
Harbor through the Harbor double's robots. The real registry is in test_token_e2e.py."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import make_user
from portal.models import AuditEvent
from registries import login_commands, robots
from registries.kinds.harbor.tests.harbor_double import ADMIN_PASSWORD, ADMIN_USER
from registries.models import LoginCredential, Registry, RegistrySpace, SpaceBinding
from registries.tests.test_token_service import SERVICE, access_of, ask, basic, templates  # noqa: F401
from registries.tokens import create_signing_key
from workspaces.models import Membership

URL = "/api/v1/registries/{}/login-command/"


@pytest.fixture
def tok(db, workspace, other_workspace):
    """Token-service registry: pub (public), priv (bound to payments), secret (bound to search)."""
    create_signing_key()
    registry = Registry.objects.create(
        name="tok",
        kind="distribution",
        url="http://127.0.0.1:9",
        token_service=True,
        token_service_id=SERVICE,
    )
    for name, visibility in [("pub", "public"), ("priv", "private"), ("secret", "private")]:
        RegistrySpace.objects.create(registry=registry, name=name, visibility=visibility)
    SpaceBinding.objects.create(space=registry.spaces.get(name="priv"), workspace=workspace)
    SpaceBinding.objects.create(space=registry.spaces.get(name="secret"), workspace=other_workspace)
    return registry


def member(name, workspace, role):
    return make_user(name, workspace=workspace, role=role)


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def generate(user, registry, **body):
    response = api(user).post(URL.format(registry.pk), body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def scopes_for(*names):
    return [f"repository:{name}/app:pull,push" for name in names]


# -- the token service -------------------------------------------------------------------------


def test_editor_login_pulls_what_they_see_and_pushes_into_bound_private_spaces(client, tok, workspace):
    editor = member("ed", workspace, "editor")
    login = generate(editor, tok)
    assert login["username"].startswith("wl-")
    assert set(login) == {"username", "password", "expires", "command"}
    assert "docker login 127.0.0.1:9" in login["command"] and "--password-stdin" in login["command"]
    granted = access_of(
        ask(client, scopes_for("pub", "priv", "secret"), auth=basic(login["username"], login["password"]))
    )
    assert granted == {"pub/app": ["pull"], "priv/app": ["pull", "push"]}


def test_login_grants_the_same_with_compiled_queries_and_the_orm(
    client,
    tok,
    workspace,
    templates,  # noqa: F811
    django_assert_max_num_queries,
):
    login = generate(member("ed", workspace, "editor"), tok)
    ask(client, scopes_for("pub"), auth=basic(login["username"], login["password"]))
    # Registry, lockout, login, Admin?, pullable, roles, pushable and the signing key: a login
    # command is not on the workspace credentials' two-query fast path, but stays constant.
    with django_assert_max_num_queries(8):
        granted = access_of(
            ask(client, scopes_for("pub", "priv", "secret"), auth=basic(login["username"], login["password"]))
        )
    assert granted == {"pub/app": ["pull"], "priv/app": ["pull", "push"]}


def test_viewer_login_pulls_but_never_pushes(client, tok, workspace):
    viewer = member("vi", workspace, "viewer")
    login = generate(viewer, tok)
    granted = access_of(
        ask(client, scopes_for("pub", "priv", "secret"), auth=basic(login["username"], login["password"]))
    )
    assert granted == {"pub/app": ["pull"], "priv/app": ["pull"]}


def test_platform_admin_login_pushes_anywhere_public_spaces_included(client, tok, admin):
    login = generate(admin, tok)
    granted = access_of(
        ask(client, scopes_for("pub", "priv", "secret"), auth=basic(login["username"], login["password"]))
    )
    assert granted == {name: ["pull", "push"] for name in ("pub/app", "priv/app", "secret/app")}


def test_a_role_change_applies_to_an_existing_login_at_once(client, tok, workspace):
    editor = member("ed", workspace, "editor")
    login = generate(editor, tok)
    Membership.objects.filter(user=editor).update(role="viewer")
    granted = access_of(ask(client, scopes_for("priv"), auth=basic(login["username"], login["password"])))
    assert granted == {"priv/app": ["pull"]}


def test_expired_login_is_refused_by_the_token_service(client, tok, workspace):
    editor = member("ed", workspace, "editor")
    login = generate(editor, tok, lifetime=60)
    LoginCredential.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    assert (
        ask(client, scopes_for("priv"), auth=basic(login["username"], login["password"])).status_code == 401
    )


def test_revoked_login_is_refused_and_unknown_usernames_are_404(client, tok, workspace):
    editor = member("ed", workspace, "editor")
    login = generate(editor, tok)
    other = generate(editor, tok)
    response = api(editor).delete(URL.format(tok.pk), {"username": login["username"]}, format="json")
    assert response.status_code == 204
    assert (
        ask(client, scopes_for("priv"), auth=basic(login["username"], login["password"])).status_code == 401
    )
    # The other login of the same user still works.
    assert (
        ask(client, scopes_for("priv"), auth=basic(other["username"], other["password"])).status_code == 200
    )
    again = api(editor).delete(URL.format(tok.pk), {"username": login["username"]}, format="json")
    assert again.status_code == 404
    # Someone else's login is not yours to revoke.
    intruder = member("in", workspace, "admin")
    assert (
        api(intruder).delete(URL.format(tok.pk), {"username": other["username"]}, format="json").status_code
        == 404
    )
    assert (
        ask(client, scopes_for("priv"), auth=basic(other["username"], other["password"])).status_code == 200
    )


def test_wrong_password_for_a_login_username_is_refused(client, tok, workspace):
    login = generate(member("ed", workspace, "editor"), tok)
    assert ask(client, scopes_for("priv"), auth=basic(login["username"], "nope")).status_code == 401


def test_a_login_of_one_registry_is_refused_at_another(client, tok, workspace):
    editor = member("ed", workspace, "editor")
    other = Registry.objects.create(
        name="tok2",
        kind="distribution",
        url="http://127.0.0.1:8",
        token_service=True,
        token_service_id="wharf-tok2",
    )
    RegistrySpace.objects.create(registry=other, name="pub", visibility="public")
    login = generate(editor, other)
    assert (
        ask(client, [], service="wharf-tok2", auth=basic(login["username"], login["password"])).status_code
        == 200
    )
    assert ask(client, [], auth=basic(login["username"], login["password"])).status_code == 401


# -- lifetime, API refusals, audit, listing ----------------------------------------------------


@override_settings(WHARF_LOGIN_COMMAND_MAX_LIFETIME=600)
def test_requested_lifetime_is_capped_at_the_maximum(tok, workspace):
    editor = member("ed", workspace, "editor")
    before = timezone.now()
    login = generate(editor, tok, lifetime=99999)
    expires = dt.datetime.fromisoformat(login["expires"])
    assert before + dt.timedelta(seconds=590) < expires <= timezone.now() + dt.timedelta(seconds=600)
    short = generate(editor, tok, lifetime=120)
    assert dt.datetime.fromisoformat(short["expires"]) <= timezone.now() + dt.timedelta(seconds=120)
    default = generate(editor, tok)
    assert dt.datetime.fromisoformat(default["expires"]) > timezone.now() + dt.timedelta(seconds=590)


@pytest.mark.parametrize("lifetime", [0, -5, 59, "soon", 1.5, True, None, [60]])
def test_bad_lifetime_is_a_400_and_creates_nothing(tok, workspace, lifetime):
    editor = member("ed", workspace, "editor")
    response = api(editor).post(URL.format(tok.pk), {"lifetime": lifetime}, format="json")
    assert response.status_code == 400
    assert "lifetime" in response.json()
    assert not LoginCredential.objects.exists()


def test_registry_the_user_cannot_see_is_404(db, workspace, other_workspace):
    own = Registry.objects.create(
        name="theirs",
        kind="distribution",
        url="http://127.0.0.1:9",
        scope="workspace",
        workspace=other_workspace,
    )
    editor = member("ed", workspace, "editor")
    for method in ("get", "post", "delete"):
        response = getattr(api(editor), method)(URL.format(own.pk), {"username": "x"}, format="json")
        assert response.status_code == 404, method
    assert api(editor).post(URL.format(99999), {}, format="json").status_code == 404


def test_registry_without_login_commands_says_so(db, workspace):
    plain = Registry.objects.create(
        name="plain", kind="distribution", url="http://127.0.0.1:9", scope="workspace", workspace=workspace
    )
    editor = member("ed", workspace, "editor")
    response = api(editor).post(URL.format(plain.pk), {}, format="json")
    assert response.status_code == 400
    assert "does not support login commands" in str(response.json())
    assert not LoginCredential.objects.exists()


def test_anonymous_gets_401(client, tok):
    assert APIClient().post(URL.format(tok.pk), {}, format="json").status_code in (401, 403)


def test_creation_and_revocation_are_audited_without_the_secret(tok, workspace):
    editor = member("ed", workspace, "editor")
    login = generate(editor, tok)
    api(editor).delete(URL.format(tok.pk), {"username": login["username"]}, format="json")
    events = list(AuditEvent.objects.filter(action__startswith="login_command.").order_by("id"))
    assert [event.action for event in events] == ["login_command.create", "login_command.revoke"]
    assert all(event.after["username"] == login["username"] for event in events)
    assert all(login["password"] not in str(event.after) + event.target_label for event in events)
    stored = LoginCredential.objects.filter(username=login["username"]).values_list("secret_hash", flat=True)
    assert login["password"] not in str(list(stored))


def test_list_shows_the_users_working_logins_without_passwords(tok, workspace):
    editor = member("ed", workspace, "editor")
    first, second = generate(editor, tok), generate(editor, tok)
    generate(member("other", workspace, "editor"), tok)
    LoginCredential.objects.filter(username=first["username"]).update(
        expires=timezone.now() - dt.timedelta(seconds=1)
    )
    listed = api(editor).get(URL.format(tok.pk)).json()
    assert [item["username"] for item in listed] == [second["username"]]
    assert "password" not in listed[0]


def test_sweep_deletes_expired_and_revoked_logins_only(tok, workspace):
    editor = member("ed", workspace, "editor")
    expired, revoked, working = generate(editor, tok), generate(editor, tok), generate(editor, tok)
    LoginCredential.objects.filter(username=expired["username"]).update(
        expires=timezone.now() - dt.timedelta(seconds=1)
    )
    LoginCredential.objects.filter(username=revoked["username"]).update(revoked=timezone.now())
    call_command("sweep_login_commands")
    assert list(LoginCredential.objects.values_list("username", flat=True)) == [working["username"]]


# -- Harbor: login robots ------------------------------------------------------------------------


@pytest.fixture
def harbor(db, harbor_double, workspace, other_workspace):
    for name in ("team-a", "team-b", "team-c"):
        harbor_double.add_repository(name, "app", tags=["1.0"])
    harbor_double.add_project("open", public=True)
    registry = Registry(name="harbor-main", kind="harbor", url=harbor_double.url, username=ADMIN_USER)
    registry.set_password(ADMIN_PASSWORD)
    registry.save()
    for name in ("team-a", "team-b", "team-c"):
        RegistrySpace.objects.create(registry=registry, name=name, visibility="private")
    RegistrySpace.objects.create(registry=registry, name="open", visibility="public")
    SpaceBinding.objects.create(space=registry.spaces.get(name="team-a"), workspace=workspace)
    SpaceBinding.objects.create(space=registry.spaces.get(name="team-b"), workspace=workspace)
    SpaceBinding.objects.create(space=registry.spaces.get(name="team-c"), workspace=other_workspace)
    return registry


def robot_of(double, login):
    credential = LoginCredential.objects.get(username=login["username"])
    return double.robots.get(int(credential.upstream_id))


@pytest.mark.integration
def test_harbor_login_is_a_robot_with_exactly_the_users_permissions(harbor, harbor_double, workspace):
    editor = member("ed", workspace, "editor")
    login = generate(editor, harbor)
    robot = robot_of(harbor_double, login)
    assert login["username"] == robot.user.username and login["username"].startswith("robot$wharf-login-")
    assert harbor_double.robot_access(robot.id) == {
        "open": ["pull"],
        "team-a": ["pull", "push"],
        "team-b": ["pull", "push"],
    }
    # Harbor counts whole days: the least it takes; Wharf deletes it at its own expiry.
    assert robot.duration == login_commands.HARBOR_DAYS == 1
    assert harbor_double.can_pull(login["username"], login["password"], "team-a/app", "1.0") == 200
    assert harbor_double.can_pull(login["username"], login["password"], "team-c/app", "1.0") == 401


@pytest.mark.integration
def test_harbor_viewer_robot_pulls_only(harbor, harbor_double, workspace):
    login = generate(member("vi", workspace, "viewer"), harbor)
    assert harbor_double.robot_access(robot_of(harbor_double, login).id) == {
        "open": ["pull"],
        "team-a": ["pull"],
        "team-b": ["pull"],
    }


@pytest.mark.integration
def test_harbor_revoke_deletes_the_robot(harbor, harbor_double, workspace):
    editor = member("ed", workspace, "editor")
    login = generate(editor, harbor)
    robot_id = robot_of(harbor_double, login).id
    assert (
        api(editor).delete(URL.format(harbor.pk), {"username": login["username"]}, format="json").status_code
        == 204
    )
    assert robot_id not in harbor_double.robots
    assert not LoginCredential.objects.exists()
    assert harbor_double.can_pull(login["username"], login["password"], "team-a/app", "1.0") == 401


@pytest.mark.integration
def test_harbor_revoke_while_harbor_is_down_leaves_it_to_the_sweep(harbor, harbor_double, workspace):
    editor = member("ed", workspace, "editor")
    login = generate(editor, harbor)
    robot_id = robot_of(harbor_double, login).id
    harbor_double.fail_on("/api/v2.0/robots/", 500, method="DELETE")
    assert (
        api(editor).delete(URL.format(harbor.pk), {"username": login["username"]}, format="json").status_code
        == 204
    )
    assert LoginCredential.objects.get().revoked is not None
    assert api(editor).get(URL.format(harbor.pk)).json() == []
    harbor_double.clear_faults()
    assert login_commands.sweep() == (1, 0)
    assert robot_id not in harbor_double.robots


@pytest.mark.integration
def test_harbor_expired_robot_is_deleted_by_the_sweep(harbor, harbor_double, workspace):
    editor = member("ed", workspace, "editor")
    login, kept = generate(editor, harbor), generate(editor, harbor)
    LoginCredential.objects.filter(username=login["username"]).update(
        expires=timezone.now() - dt.timedelta(seconds=1)
    )
    expired_id, kept_id = robot_of(harbor_double, login).id, robot_of(harbor_double, kept).id
    call_command("sweep_login_commands")
    assert expired_id not in harbor_double.robots
    assert kept_id in harbor_double.robots


@pytest.mark.integration
def test_reconcile_removes_leftover_login_robots(harbor, harbor_double, workspace):
    editor = member("ed", workspace, "editor")
    login, kept = generate(editor, harbor), generate(editor, harbor)
    leftover_id, kept_id = robot_of(harbor_double, login).id, robot_of(harbor_double, kept).id
    # The row is gone but the robot was not deleted (a restored backup, a missed deletion).
    LoginCredential.objects.filter(username=login["username"]).delete()
    # Another Wharf's robot, and a pull credential robot, are left alone.
    harbor_double.add_robot("wharf-login-9-abcd", "Secret123", ["team-a"])
    strangers = set(harbor_double.robots) - {leftover_id, kept_id}
    outcomes = robots.reconcile_all(verify_secret=False)
    assert leftover_id not in harbor_double.robots
    assert kept_id in harbor_double.robots
    assert strangers <= set(harbor_double.robots)
    assert any("deleted leftover robot" in action for outcome in outcomes for action in outcome.actions)


@pytest.mark.integration
def test_harbor_failure_creates_nothing(harbor, harbor_double, workspace):
    harbor_double.fail_on("/api/v2.0/robots", 500, method="POST")
    editor = member("ed", workspace, "editor")
    response = api(editor).post(URL.format(harbor.pk), {}, format="json")
    assert response.status_code == 400
    assert not LoginCredential.objects.exists()
    assert not AuditEvent.objects.filter(action="login_command.create").exists()


@pytest.mark.integration
def test_outsider_with_nothing_private_gets_pull_on_public_projects_only(harbor, harbor_double):
    login = generate(make_user("nobody"), harbor)
    assert harbor_double.robot_access(robot_of(harbor_double, login).id) == {"open": ["pull"]}


# -- pages ---------------------------------------------------------------------------------------


def test_page_generates_once_and_revokes_through_the_same_service(client, tok, workspace):
    editor = member("ed", workspace, "editor")
    client.force_login(editor)
    page = client.get(f"/images/registries/{tok.pk}/login/")
    assert page.status_code == 200
    assert "Generate login command" in page.text
    assert "127.0.0.1:9/priv/IMAGE:TAG" in page.text  # push commands for the bound private space
    assert "127.0.0.1:9/secret/" not in page.text and "127.0.0.1:9/pub/" not in page.text
    answer = client.post(f"/images/registries/{tok.pk}/login/", {"lifetime": "120"})
    assert answer.status_code == 201
    credential = LoginCredential.objects.get()
    assert credential.username in answer.text and "docker login" in answer.text
    assert (
        answer["Cache-Control"].startswith("max-age=0")
        or "no-store" in answer["Cache-Control"]
        or "no-cache" in answer["Cache-Control"]
    )
    again = client.get(f"/images/registries/{tok.pk}/login/")
    assert credential.username in again.text and "docker login" not in again.text
    revoked = client.post(f"/images/registries/{tok.pk}/login/revoke/", {"username": credential.username})
    assert revoked.status_code == 302
    assert LoginCredential.objects.count() == 0


def test_page_refuses_a_bad_lifetime_with_a_message(client, tok, workspace):
    client.force_login(member("ed", workspace, "editor"))
    answer = client.post(f"/images/registries/{tok.pk}/login/", {"lifetime": "soon"})
    assert answer.status_code == 400
    assert "whole number of seconds" in answer.text
    assert not LoginCredential.objects.exists()


def test_page_of_an_unsupported_registry_says_not_supported(client, db, workspace):
    plain = Registry.objects.create(
        name="plain", kind="distribution", url="http://127.0.0.1:9", scope="workspace", workspace=workspace
    )
    client.force_login(member("ed", workspace, "editor"))
    page = client.get(f"/images/registries/{plain.pk}/login/")
    assert "does not support login commands" in page.text
    assert client.post(f"/images/registries/{plain.pk}/login/").status_code == 400


def test_page_of_another_workspaces_registry_is_404(client, db, workspace, other_workspace):
    theirs = Registry.objects.create(
        name="theirs",
        kind="distribution",
        url="http://127.0.0.1:9",
        scope="workspace",
        workspace=other_workspace,
    )
    client.force_login(member("ed", workspace, "editor"))
    assert client.get(f"/images/registries/{theirs.pk}/login/").status_code == 404
    assert client.post(f"/images/registries/{theirs.pk}/login/").status_code == 404
    assert client.post(f"/images/registries/{theirs.pk}/login/revoke/", {"username": "x"}).status_code == 404


@pytest.mark.parametrize("role, shown", [("editor", True), ("admin", True), ("viewer", False)])
def test_repository_page_shows_push_commands_to_those_who_may_push(
    client, tok, workspace, role, shown, django_assert_max_num_queries
):
    from registries.models import Repository

    repository = Repository.objects.create(space=tok.spaces.get(name="priv"), name="priv/app")
    client.force_login(member("someone", workspace, role))
    with django_assert_max_num_queries(12):
        page = client.get(f"/images/{repository.pk}/")
    assert page.status_code == 200
    assert ("docker push 127.0.0.1:9/priv/app:TAG" in page.text) == shown
    assert (
        "skopeo copy docker-daemon:SOURCE_IMAGE[:TAG] docker://127.0.0.1:9/priv/app:TAG" in page.text
    ) == shown
    assert "Generate login command" in page.text


def test_login_page_query_count_is_constant(client, tok, workspace, django_assert_max_num_queries):
    editor = member("ed", workspace, "editor")
    for _ in range(5):
        generate(editor, tok)
    for number in range(10):
        space = RegistrySpace.objects.create(registry=tok, name=f"more{number}", visibility="private")
        SpaceBinding.objects.create(space=space, workspace=workspace)
    client.force_login(editor)
    with django_assert_max_num_queries(10):
        page = client.get(f"/images/registries/{tok.pk}/login/")
    assert page.text.count("Revoke") >= 5

"""Django admin: platform Admins only, and every write through the service functions.

Finding 6 of the attack run: admin wrote around the services (no connection check, no audit
event, no row lock, no robot update). The walk below keeps any model, present or future,
from offering a write the services do not make.
"""

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse
from django_tasks_db.models import DBTaskResult, get_date_max

from conftest import PASSWORD
from portal import crypto
from portal.admin_site import RoutedAdmin, WharfAdminSite
from portal.api.tokens import issue
from portal.models import AuditEvent
from registries.models import PullCredential, Registry
from registries.tokens import create_signing_key
from workspaces import services as workspace_services
from workspaces.models import Membership, Workspace

# Django's write hooks a routed admin must not replace: its writes are its service_* methods.
CLOSED_HOOKS = (
    "save_model",
    "save_related",
    "save_formset",
    "delete_model",
    "delete_queryset",
    "get_deleted_objects",
    "delete_view",
    "get_form",
    "_apply",
)


def admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("super", "super@example.com", PASSWORD)


def routing_problems(site, user) -> list[str]:
    """What in ``site`` lets ``user`` write around the services."""
    request = admin_request(user)
    problems = []
    if "delete_selected" in dict(site.actions):
        problems.append("bulk delete is on")
    for model, model_admin in site._registry.items():
        name = model._meta.label
        writes = {
            "add": model_admin.has_add_permission(request),
            "change": model_admin.has_change_permission(request),
            "delete": model_admin.has_delete_permission(request),
        }
        if any(writes.values()):
            if not isinstance(model_admin, RoutedAdmin):
                problems.append(f"{name}: writable and not routed through the services")
            else:
                problems += [
                    f"{name}: {operation} has no service method"
                    for operation, allowed in writes.items()
                    if allowed and not model_admin.routes(operation)
                ]
                problems += [
                    f"{name}: replaces {hook}"
                    for hook in CLOSED_HOOKS
                    if getattr(type(model_admin), hook) is not getattr(RoutedAdmin, hook)
                ]
        # Other ways to write from a changelist or a change page.
        if model_admin.list_editable:
            problems.append(f"{name}: edits in the list")
        if model_admin.save_as:
            problems.append(f"{name}: offers 'save as new'")
        if model_admin.get_actions(request):
            problems.append(f"{name}: has actions {sorted(model_admin.get_actions(request))}")
        for inline in model_admin.get_inline_instances(request):
            if (
                inline.has_add_permission(request, None)
                or inline.has_change_permission(request)
                or inline.has_delete_permission(request)
            ):
                problems.append(f"{name}: writable inline {type(inline).__name__}")
    return problems


def test_finding_6_every_admin_model_writes_only_through_the_services(admin, superuser):
    assert isinstance(django_admin.site, WharfAdminSite)
    assert len(django_admin.site._registry) >= 15
    for user in (admin, superuser):
        assert routing_problems(django_admin.site, user) == []
        request = admin_request(user)
        assert all(
            model_admin.has_view_permission(request) for model_admin in django_admin.site._registry.values()
        )


def test_finding_6_the_walk_catches_a_model_registered_with_a_plain_model_admin(superuser):
    class Careless(django_admin.ModelAdmin):
        list_editable = ["description"]
        list_display = ["name", "description"]

    site = WharfAdminSite(name="probe")
    site.register(Workspace, Careless)
    site.add_action(django_admin.actions.delete_selected)
    assert routing_problems(site, superuser) == [
        "bulk delete is on",
        "workspaces.Workspace: writable and not routed through the services",
        "workspaces.Workspace: edits in the list",
        "workspaces.Workspace: has actions ['delete_selected']",
    ]


@pytest.mark.parametrize("persona", ["ws_admin", "ws_editor", "ws_viewer", "outsider"])
def test_finding_6_staff_flag_alone_does_not_open_the_admin(client, request, persona, workspace):
    user = request.getfixturevalue(persona)
    user.is_staff = True
    user.save()
    client.force_login(user)
    for url in (
        reverse("admin:index"),
        reverse("admin:workspaces_workspace_changelist"),
        reverse("admin:workspaces_workspace_change", args=[workspace.pk]),
        reverse("admin:auth_user_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    page = client.get(reverse("admin:login"), follow=True)
    assert "not authorized to access this page" in page.text
    assert "Payments team" not in page.text
    # A write is refused as well, and changes nothing.
    response = client.post(reverse("admin:workspaces_workspace_add"), {"name": "sneaky", "description": ""})
    assert response.status_code == 302
    assert not Workspace.objects.filter(name="sneaky").exists()


def test_anonymous_gets_the_admin_login(client, db):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_admin_group_member_reaches_the_admin_without_a_staff_flag(client, admin):
    assert not admin.is_staff and not admin.is_superuser
    client.force_login(admin)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Wharf administration" in response.text
    assert "<title>Data fixes | Wharf admin</title>" in response.text
    assert "Django administration" not in response.text
    assert client.get(reverse("admin:workspaces_workspace_changelist")).status_code == 200


def test_admin_login_form_takes_admins_and_refuses_staff_members(client, admin, ws_admin):
    ws_admin.is_staff = True
    ws_admin.save()
    refused = client.post(reverse("admin:login"), {"username": "ws-admin", "password": PASSWORD})
    assert refused.status_code == 200
    assert "platform Admin" in refused.text
    assert "_auth_user_id" not in client.session
    accepted = client.post(
        reverse("admin:login") + "?next=/admin/", {"username": "root-admin", "password": PASSWORD}
    )
    assert accepted.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_seed_demo_makes_nobody_staff_and_only_the_demo_admin_reaches_the_admin(client, db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert not User.objects.filter(is_staff=True).exists()
    assert client.login(username="alice", password="wharf-demo")  # a Workspace Admin
    assert client.get(reverse("admin:index")).status_code == 302
    client.logout()
    assert client.login(username="admin", password="wharf-demo")
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:registries_registry_changelist",
        "admin:registries_registryspace_changelist",
        "admin:registries_spacebinding_changelist",
        "admin:registries_repository_changelist",
        "admin:registries_tag_changelist",
        "admin:registries_syncrun_changelist",
        "admin:registries_pullcredential_changelist",
        "admin:registries_tokensigningkey_changelist",
        "admin:workspaces_workspace_changelist",
        "admin:workspaces_membership_changelist",
        "admin:workspaces_cluster_changelist",
        "admin:workspaces_namespace_changelist",
        "admin:portal_auditevent_changelist",
        "admin:portal_apitoken_changelist",
        "admin:auth_user_changelist",
        "admin:auth_group_changelist",
        "admin:django_tasks_database_dbtaskresult_changelist",
    ],
)
def test_django_admin_lists_every_model(client, admin, url_name):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    client.force_login(admin)
    response = client.get(reverse(url_name) + "?q=pay")
    assert response.status_code == 200


def test_finding_6_bulk_delete_is_absent(client, admin, workspace, ws_admin):
    client.force_login(admin)
    page = client.get(reverse("admin:workspaces_membership_changelist"))
    assert page.status_code == 200
    assert "delete_selected" not in page.text
    membership = Membership.objects.get(user=ws_admin)
    response = client.post(
        reverse("admin:workspaces_membership_changelist"),
        {"action": "delete_selected", "_selected_action": [membership.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert not AuditEvent.objects.exists()


def test_no_admin_page_shows_a_secret_not_even_encrypted(client, admin, workspace, settings):
    registry = Registry(name="harbor", kind="harbor", url="https://harbor.example.com", username="wharf")
    registry.set_password("Harbor12345")
    registry.save()
    credential = PullCredential(workspace=workspace, registry=registry, username="robot$ws")
    credential.set_secret("robot-secret-value")
    credential.save()
    key = create_signing_key()
    _, token_key = issue(admin, "ci")
    task = DBTaskResult.objects.create(
        args_kwargs={
            "args": [registry.pk, [1], {"password_encrypted": registry.password_encrypted}],
            "kwargs": {},
        },
        task_path="registries.tasks.delete_robots_task",
        backend_name="default",
        run_after=get_date_max(),
        priority=0,
        queue_name="default",
    )
    secrets = [
        "Harbor12345",
        registry.password_encrypted,
        "robot-secret-value",
        credential.secret_encrypted,
        credential.secret_hash,
        key.private_key_encrypted,
        crypto.decrypt(key.private_key_encrypted).splitlines()[1],
        token_key,
        *admin.password.split("$")[2:],
    ]  # the password's salt and hash
    client.force_login(admin)
    objects = [registry, credential, key, task, admin, *admin.api_tokens.all()]
    pages = []
    for model_admin in django_admin.site._registry.values():
        opts = model_admin.model._meta
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    for obj in objects:
        opts = obj._meta
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    pages.append(reverse("admin:auth_user_password_change", args=[admin.pk]))
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        for secret in secrets:
            assert secret not in response.text, (url, secret[:12])


# Accounts: Django admin is their page, through portal/services.py ----------------------------


def user_form(**overrides):
    data = {
        "username": "dora",
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "groups": [],
    }
    data.update(overrides)
    return data


def test_a_user_created_in_admin_is_audited_without_the_password(client, admin):
    client.force_login(admin)
    response = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "dora",
            "usable_password": "true",
            "password1": "Tr0ub4dor&3-long",
            "password2": "Tr0ub4dor&3-long",
        },
    )
    assert response.status_code == 302
    dora = User.objects.get(username="dora")
    assert dora.check_password("Tr0ub4dor&3-long") and not dora.is_staff
    event = AuditEvent.objects.get(action="user.create")
    assert event.actor == admin and event.after["username"] == "dora"
    assert "Tr0ub4dor" not in str(event.after)


def test_making_someone_a_platform_admin_in_admin_is_audited(client, admin, ws_viewer):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="Admin")
    client.force_login(admin)
    response = client.post(
        reverse("admin:auth_user_change", args=[ws_viewer.pk]),
        user_form(username="ws-viewer", email="ws-viewer@example.com", groups=[group.pk]),
    )
    assert response.status_code == 302
    assert ws_viewer.groups.filter(name="Admin").exists()
    event = AuditEvent.objects.get(action="user.update")
    assert (event.before, event.after) == ({"groups": []}, {"groups": ["Admin"]})
    assert event.actor == admin


def test_a_new_password_set_in_admin_is_audited_and_never_echoed(client, admin, ws_viewer):
    client.force_login(admin)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[ws_viewer.pk]),
        {
            "usable_password": "true",
            "password1": "N3w-passphrase-x",
            "password2": "N3w-passphrase-x",
            "set-password": "1",
        },
    )
    assert response.status_code == 302
    ws_viewer.refresh_from_db()
    assert ws_viewer.check_password("N3w-passphrase-x")
    event = AuditEvent.objects.get(action="user.password")
    assert event.after == {"password_sign_in": True} and event.actor == admin


def test_a_password_the_validators_refuse_is_not_set(client, admin, ws_viewer):
    client.force_login(admin)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[ws_viewer.pk]),
        {"usable_password": "true", "password1": "a", "password2": "b"},
    )
    assert response.status_code == 200
    ws_viewer.refresh_from_db()
    assert ws_viewer.check_password(PASSWORD)
    assert not AuditEvent.objects.exists()


def test_own_password_change_link_goes_to_the_audited_page(client, admin):
    client.force_login(admin)
    response = client.get(reverse("admin:password_change"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:auth_user_password_change", args=[admin.pk])


def test_deleting_the_last_workspace_admin_account_is_refused(client, admin, ws_admin, ws_viewer):
    client.force_login(admin)
    response = client.post(
        reverse("admin:auth_user_delete", args=[ws_admin.pk]), {"post": "yes"}, follow=True
    )
    assert "last Workspace Admin of payments" in response.text
    assert User.objects.filter(pk=ws_admin.pk).exists()
    assert Membership.objects.filter(user=ws_admin).exists()
    assert not AuditEvent.objects.exists()


def test_deleting_an_account_removes_its_memberships_through_the_service(client, admin, ws_admin, ws_viewer):
    client.force_login(admin)
    response = client.post(reverse("admin:auth_user_delete", args=[ws_viewer.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=ws_viewer.pk).exists()
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "membership.delete",
        "user.delete",
    ]
    assert AuditEvent.objects.get(action="membership.delete").before == {
        "user": "ws-viewer",
        "role": "viewer",
    }


def test_removing_a_member_calls_the_same_service_from_every_path(
    monkeypatch, client, admin, ws_admin, ws_viewer
):
    # Whatever follows a member leaving (credential rotation) hangs off remove_member.
    calls = []
    original = workspace_services.remove_member
    monkeypatch.setattr(
        workspace_services,
        "remove_member",
        lambda membership, actor: calls.append(membership.pk) or original(membership, actor),
    )
    membership = Membership.objects.get(user=ws_viewer)
    client.force_login(admin)
    client.post(reverse("admin:workspaces_membership_delete", args=[membership.pk]), {"post": "yes"})
    assert calls == [membership.pk]


def test_every_admin_page_opens_for_an_admin_and_no_get_writes(client, admin):
    from django.db import connection

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    client.force_login(admin)
    request = admin_request(admin)
    writes = []

    def record_writes(execute, sql, params, many, context):
        if sql.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record_writes):
        for model, model_admin in django_admin.site._registry.items():
            opts = model._meta
            prefix = f"admin:{opts.app_label}_{opts.model_name}"
            assert client.get(reverse(f"{prefix}_changelist")).status_code == 200, prefix
            add = client.get(reverse(f"{prefix}_add")).status_code
            assert add == (200 if model_admin.has_add_permission(request) else 403), prefix
            obj = model._default_manager.first()
            if obj is None:
                continue
            assert client.get(reverse(f"{prefix}_change", args=[obj.pk])).status_code == 200, prefix
            assert client.get(reverse(f"{prefix}_history", args=[obj.pk])).status_code == 200, prefix
            delete = client.get(reverse(f"{prefix}_delete", args=[obj.pk])).status_code
            assert delete == (200 if model_admin.has_delete_permission(request, obj) else 403), prefix
    assert writes == []

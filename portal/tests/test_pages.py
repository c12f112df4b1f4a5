from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from conftest import PASSWORD
from portal.models import AuditEvent
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding
from workspaces.models import Membership, Namespace, Workspace


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_with_wrong_password_says_so_and_stays_logged_out(client, ws_viewer):
    response = client.post(reverse("login"), {"username": "ws-viewer", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text
    assert "_auth_user_id" not in client.session


def test_login_then_dashboard_lists_memberships(client, ws_editor):
    response = client.post(reverse("login"), {"username": "ws-editor", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert "payments" in response.text
    assert "Workspace Editor" in response.text


def test_logout_requires_post_and_ends_the_session(client, ws_viewer):
    client.force_login(ws_viewer)
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302


def navigation_labels(response):
    return [item["label"] for section in response.context["navigation"] for item in section["items"]]


def test_admin_sees_admin_navigation_and_platform_figures(client, admin):
    client.force_login(admin)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert "Platform" in response.text
    assert response.context["user_is_admin"] is True


def test_member_does_not_see_admin_entries(client, ws_viewer):
    client.force_login(ws_viewer)
    response = client.get(reverse("dashboard"))
    labels = navigation_labels(response)
    assert "Integrated Registry (Admin)" not in labels
    assert "Audit Log" not in labels
    assert "Create by Image" not in labels
    assert "Platform" not in response.text


def test_pages_carry_a_strict_content_security_policy(client, ws_viewer):
    client.force_login(ws_viewer)
    response = client.get(reverse("dashboard"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert "unsafe-inline" not in policy
    assert response["X-Request-ID"]


def test_health_endpoints(client, db):
    assert client.get(reverse("healthz")).json() == {"status": "ok"}
    assert client.get(reverse("readyz")).json()["status"] == "ok"


def test_audit_log_is_read_only_in_django_admin(admin_client, db):
    assert admin_client.get(reverse("admin:portal_auditevent_add")).status_code == 403


def test_seed_demo_is_idempotent_and_prints_logins(db, capsys):
    call_command("seed_demo")
    counts = [
        model.objects.count()
        for model in (
            User,
            Workspace,
            Membership,
            Namespace,
            Registry,
            RegistrySpace,
            SpaceBinding,
            Repository,
        )
    ]
    call_command("seed_demo")
    assert counts == [
        model.objects.count()
        for model in (
            User,
            Workspace,
            Membership,
            Namespace,
            Registry,
            RegistrySpace,
            SpaceBinding,
            Repository,
        )
    ]
    output = capsys.readouterr().out
    assert "admin / wharf-demo" in output
    assert Workspace.objects.count() >= 5
    assert Namespace.objects.filter(workspace__isnull=True).exists()
    assert not Registry.objects.filter(is_demo=False).exists()
    assert RegistrySpace.objects.filter(visibility="public").exists()
    assert RegistrySpace.objects.filter(visibility="private", bindings__isnull=True).exists()
    assert not AuditEvent.objects.exists()


def test_demo_admin_login_works(client, db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert client.login(username="admin", password="wharf-demo")
    assert client.get(reverse("dashboard")).context["user_is_admin"]

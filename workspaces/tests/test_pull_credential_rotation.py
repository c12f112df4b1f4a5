"""Rotating a workspace's pull credentials (finding 5) on its page and through the API: its
Workspace Admins and the platform Admins may, Editors and Viewers may not, other workspaces'
members get 404; the old secret keeps working for the overlap window; every rotation is audited
and no secret is ever shown. Harbor robots and real pulls: registries/tests/test_robots.py and
test_token_e2e.py."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from portal.models import AuditEvent
from registries import tokens
from registries.models import PullCredential, Registry
from workspaces import services
from workspaces.models import Membership

# persona -> what a rotation request gets: allowed, refused (403) or not found (404)
ROLES = {"admin": 302, "ws_admin": 302, "ws_editor": 403, "ws_viewer": 403, "outsider": 404}


@pytest.fixture
def minted(workspace):
    """payments' credential at a token-service registry, and its secret."""
    registry = Registry.objects.create(
        name="tok", kind="distribution", url="http://127.0.0.1:9", token_service=True
    )
    _username, secret = tokens.mint_workspace_credential(workspace, registry)
    return PullCredential.objects.get(workspace=workspace, registry=registry), secret


def rotate_url(workspace):
    return reverse("workspaces:pull-credentials-rotate", args=[workspace.pk])


@pytest.mark.parametrize("persona", sorted(ROLES))
def test_finding_5_the_rotate_button_is_for_workspace_admins_and_admins(
    client, request, persona, workspace, minted, settings
):
    settings.WHARF_CREDENTIAL_OVERLAP = 3600
    credential, old_secret = minted
    client.force_login(request.getfixturevalue(persona))
    page = client.get(reverse("workspaces:detail", args=[workspace.pk]))
    response = client.post(rotate_url(workspace))
    assert response.status_code == ROLES[persona]
    credential.refresh_from_db()
    if ROLES[persona] != 302:
        assert credential.secret_hash == tokens.hash_secret(old_secret)
        assert not AuditEvent.objects.filter(action="pull_credential.rotate").exists()
        if page.status_code == 200:
            assert "Rotate pull credentials" not in page.text
        return
    assert "Rotate pull credentials" in page.text
    assert credential.secret_hash != tokens.hash_secret(old_secret)
    assert credential.previous_secret_hash == tokens.hash_secret(old_secret) and credential.previous_valid()
    after = client.get(response.url).text
    assert "New pull credentials for tok. The old ones keep working until" in after
    assert "works until" in after
    assert old_secret not in after and credential.get_secret() not in after
    event = AuditEvent.objects.get(action="workspace.rotate_pull_credentials")
    assert event.after == {
        "reason": "requested on the workspace page",
        "registries": ["tok"],
        "overlap_seconds": 3600,
    }


def test_finding_5_rotation_is_post_only_and_says_when_there_is_nothing(client, ws_admin, workspace):
    client.force_login(ws_admin)
    assert client.get(rotate_url(workspace)).status_code == 405
    response = client.post(rotate_url(workspace), follow=True)
    assert "This workspace has no pull credentials to rotate yet." in response.text
    assert not AuditEvent.objects.filter(action__contains="rotate").exists()


def test_finding_5_without_overlap_the_page_says_the_old_ones_stopped(
    client, admin, workspace, minted, settings
):
    settings.WHARF_CREDENTIAL_OVERLAP = 0
    credential, old_secret = minted
    client.force_login(admin)
    response = client.post(rotate_url(workspace), follow=True)
    assert "the old ones no longer work" in response.text
    credential.refresh_from_db()
    assert not credential.previous_secret_hash and credential.previous_valid_until is None


@pytest.mark.parametrize("persona", sorted(ROLES))
def test_finding_5_rotation_through_the_api(request, persona, workspace, minted, settings):
    settings.WHARF_CREDENTIAL_OVERLAP = 600
    credential, old_secret = minted
    api = APIClient()
    api.force_login(request.getfixturevalue(persona))
    base = f"/api/v1/workspaces/{workspace.pk}/pull-credentials/"
    listed = api.get(base)
    response = api.post(base + "rotate/")
    expected = {302: 200, 403: 403, 404: 404}[ROLES[persona]]
    assert response.status_code == expected
    if persona == "outsider":
        assert listed.status_code == 404
        return
    assert listed.status_code == 200
    assert listed.json()["results"][0]["username"] == "ws-payments"
    credential.refresh_from_db()
    if expected != 200:
        assert credential.secret_hash == tokens.hash_secret(old_secret)
        return
    body = response.json()
    assert body["rotated"] == ["tok"] and body["overlap_seconds"] == 600
    assert body["credentials"][0]["previous_valid_until"] is not None
    assert credential.previous_secret_hash == tokens.hash_secret(old_secret)
    for secret in (old_secret, credential.get_secret()):
        assert secret not in response.content.decode() and secret not in listed.content.decode()


def test_finding_5_a_member_leaving_rotates_unless_turned_off(
    ws_admin, ws_editor, ws_viewer, workspace, minted, settings
):
    credential, old_secret = minted
    services.remove_member(Membership.objects.get(user=ws_viewer), ws_admin)
    credential.refresh_from_db()
    assert credential.previous_secret_hash == tokens.hash_secret(old_secret)
    event = AuditEvent.objects.get(action="pull_credential.rotate")
    assert event.actor == ws_admin and event.after["reason"] == "member ws-viewer left the workspace"

    settings.WHARF_ROTATE_ON_MEMBER_LEAVE = False
    current = credential.secret_hash
    services.remove_member(Membership.objects.get(user=ws_editor), ws_admin)
    credential.refresh_from_db()
    assert credential.secret_hash == current
    assert AuditEvent.objects.filter(action="pull_credential.rotate").count() == 1

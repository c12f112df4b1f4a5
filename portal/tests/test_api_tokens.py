"""Personal API tokens (profile page) and the three ways into the API: token, Basic, session."""

import base64
import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import PASSWORD
from portal.api import tokens
from portal.models import ApiToken, AuditEvent
from workspaces.models import Workspace

API = "/api/v1/workspaces/"


def create_token(client, name="ci", expires_in=""):
    """Create a token on the profile page; return the page and the key it shows."""
    page = client.post(reverse("profile"), {"name": name, "expires_in": expires_in})
    match = re.search(r'id="new-token-key"[^>]*value="([^"]+)"', page.text)
    return page, match.group(1) if match else None


def token_client(key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


# The profile page -------------------------------------------------------------------------


def test_the_profile_page_needs_a_login(client, db):
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_every_page_links_to_the_profile(client, ws_viewer):
    client.force_login(ws_viewer)
    assert f'href="{reverse("profile")}"' in client.get(reverse("dashboard")).text


def test_a_user_creates_a_token_and_sees_its_key_once(client, ws_editor):
    client.force_login(ws_editor)
    page, key = create_token(client, "ci pipeline")
    assert page.status_code == 200
    assert key and len(key) >= 40
    assert "it is shown only once" in page.text
    assert "no-store" in page["Cache-Control"]
    token = ApiToken.objects.get(user=ws_editor)
    assert (token.name, token.key_prefix) == ("ci pipeline", key[:8])
    # Afterwards the page lists the token by name and prefix, never the key again.
    later = client.get(reverse("profile"))
    assert "ci pipeline" in later.text and key[:8] in later.text
    assert key not in later.text


def test_the_key_is_stored_only_as_its_hash(client, ws_editor):
    client.force_login(ws_editor)
    _, key = create_token(client)
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in str(stored)
    event = AuditEvent.objects.get(action="api_token.create")
    assert event.actor == ws_editor
    assert key not in str(event.before) + str(event.after)


def test_every_token_gets_its_own_key(ws_editor):
    keys = {tokens.issue(ws_editor, f"t{i}")[1] for i in range(5)}
    assert len(keys) == 5
    assert ApiToken.objects.values("key_hash").distinct().count() == 5


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": ""}, "This field is required."),
        ({"name": "x" * 101}, "Ensure this value has at most 100 characters"),
        ({"name": "ci", "expires_in": "7"}, "Select a valid choice."),
    ],
)
def test_bad_token_input_says_why_and_creates_nothing(client, ws_editor, data, message):
    client.force_login(ws_editor)
    page = client.post(reverse("profile"), data)
    assert message in page.text
    assert 'id="new-token-key"' not in page.text
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.exists()


def test_two_tokens_of_one_user_cannot_share_a_name(client, ws_editor):
    client.force_login(ws_editor)
    create_token(client, "ci")
    page, key = create_token(client, "ci")
    assert key is None
    assert "You already have a token with this name." in page.text
    assert ApiToken.objects.count() == 1


def test_a_token_can_be_made_to_expire(client, ws_editor):
    client.force_login(ws_editor)
    create_token(client, "short", expires_in="30")
    token = ApiToken.objects.get()
    assert timedelta(days=29) < token.expires - timezone.now() <= timedelta(days=30)


def test_a_user_sees_only_their_own_tokens(client, ws_editor, ws_viewer):
    tokens.issue(ws_viewer, "viewer-secret-job")
    client.force_login(ws_editor)
    assert "viewer-secret-job" not in client.get(reverse("profile")).text


def test_revoking_deletes_the_token_audits_it_and_the_key_stops_working(client, ws_editor):
    client.force_login(ws_editor)
    _, key = create_token(client)
    token = ApiToken.objects.get()
    assert token_client(key).get(API).status_code == 200
    response = client.post(reverse("token-revoke", args=[token.pk]))
    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert event.actor == ws_editor and event.before == {"name": "ci", "prefix": key[:8]}
    refused = token_client(key).get(API)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid or revoked API token."}


def test_revoking_needs_a_post(client, ws_editor):
    token, _ = tokens.issue(ws_editor, "ci")
    client.force_login(ws_editor)
    assert client.get(reverse("token-revoke", args=[token.pk])).status_code == 405
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_revoking_needs_the_csrf_token(ws_editor):
    token, _ = tokens.issue(ws_editor, "ci")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ws_editor)
    assert browser.post(reverse("token-revoke", args=[token.pk])).status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_nobody_revokes_someone_elses_token(client, ws_editor, admin):
    token, _ = tokens.issue(ws_editor, "ci")
    client.force_login(admin)
    assert client.post(reverse("token-revoke", args=[token.pk])).status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert not AuditEvent.objects.filter(action="api_token.revoke").exists()


# Token authentication ---------------------------------------------------------------------


def test_a_token_acts_as_its_user(ws_viewer, other_workspace):
    _, key = tokens.issue(ws_viewer, "ci")
    response = token_client(key).get(API)
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["payments"]


def test_a_token_records_when_it_was_last_used(ws_viewer):
    token, key = tokens.issue(ws_viewer, "ci")
    assert token.last_used is None
    token_client(key).get(API)
    token.refresh_from_db()
    assert token.last_used is not None


def test_a_token_keeps_its_users_role(ws_admin):
    _, key = tokens.issue(ws_admin, "ci")
    assert token_client(key).get("/api/v1/registries/").status_code == 403


def test_an_admin_token_writes_without_csrf(admin):
    _, key = tokens.issue(admin, "ci")
    api = APIClient(enforce_csrf_checks=True)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.post(API, {"name": "from-a-script"}, format="json")
    assert response.status_code == 201
    assert AuditEvent.objects.get(action="workspace.create").actor == admin


def test_an_expired_token_is_refused_with_a_clear_message(ws_viewer):
    _, key = tokens.issue(ws_viewer, "old", expires=timezone.now() - timedelta(minutes=1))
    response = token_client(key).get(API)
    assert response.status_code == 401
    assert "This API token expired on" in response.json()["detail"]
    assert "create a new one on your profile page" in response.json()["detail"]


def test_a_token_of_an_inactive_user_is_refused(ws_viewer):
    _, key = tokens.issue(ws_viewer, "ci")
    ws_viewer.is_active = False
    ws_viewer.save()
    assert token_client(key).get(API).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Token one two",
        "Token not-a-key",
        "token nope",
    ],
)
def test_a_malformed_or_unknown_token_is_401(db, header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get(API)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_anonymous_api_requests_are_told_how_to_authenticate(db):
    response = APIClient().get(API)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


# HTTP Basic and session -------------------------------------------------------------------


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_http_basic_works_for_scripts(ws_viewer):
    api = APIClient(enforce_csrf_checks=True)
    api.credentials(HTTP_AUTHORIZATION=basic("ws-viewer", PASSWORD))
    assert api.get(API).status_code == 200


def test_http_basic_with_a_wrong_password_is_401(ws_viewer):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=basic("ws-viewer", "wrong"))
    assert api.get(API).status_code == 401


def test_an_admin_writes_with_http_basic_without_csrf(admin):
    api = APIClient(enforce_csrf_checks=True)
    api.credentials(HTTP_AUTHORIZATION=basic("root-admin", PASSWORD))
    assert api.post(API, {"name": "via-basic"}, format="json").status_code == 201


def test_a_browser_session_reads_the_api(ws_viewer):
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(ws_viewer)
    assert api.get(API).status_code == 200


def test_a_browser_session_needs_the_csrf_token_to_write(admin):
    api = APIClient(enforce_csrf_checks=True)
    api.login(username="root-admin", password=PASSWORD)
    refused = api.post(API, {"name": "no-csrf"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not Workspace.objects.filter(name="no-csrf").exists()

    api.get(reverse("profile"))  # any page with a form sets the CSRF cookie
    csrf = api.cookies["csrftoken"].value
    accepted = api.post(API, {"name": "with-csrf"}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 201
    assert Workspace.objects.filter(name="with-csrf").exists()


# The schema -------------------------------------------------------------------------------


def test_the_openapi_schema_describes_the_api_to_signed_in_users(ws_viewer):
    assert APIClient().get("/api/v1/schema/").status_code == 401
    api = APIClient()
    api.force_login(ws_viewer)
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    for path in (
        "/api/v1/registries/",
        "/api/v1/registries/{id}/sync/",
        "/api/v1/registries/{registry_pk}/spaces/",
        "/api/v1/spaces/{id}/",
        "/api/v1/spaces/{id}/bind/",
        "/api/v1/spaces/{id}/unbind/",
        "/api/v1/workspaces/",
        "/api/v1/audit-events/",
    ):
        assert path in schema["paths"], path
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    registry = schema["components"]["schemas"]["Registry"]["properties"]
    assert registry["password"]["writeOnly"] is True

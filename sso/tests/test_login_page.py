"""The login page with and without a provider, and WHARF_LOCAL_LOGIN off (break-glass only)."""

from base64 import b64encode

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider_configured(settings):
    """Settings as with a provider; nothing here talks to it."""
    settings.WHARF_OIDC_ISSUER = "https://sso.example.com/realms/dce"
    settings.WHARF_OIDC_CLIENT_ID = "wharf"
    settings.WHARF_OIDC_CLIENT_SECRET = "secret"
    settings.WHARF_OIDC_PROVIDER_NAME = "DCE Login"
    return settings


@pytest.fixture
def local_login_off(provider_configured):
    provider_configured.WHARF_LOCAL_LOGIN = False
    return provider_configured


def log_in(client, username, password=PASSWORD):
    return client.post("/login/", {"username": username, "password": password})


def test_without_a_provider_the_login_page_is_as_before(client, settings):
    assert settings.WHARF_OIDC_ISSUER == ""
    page = client.get("/login/").content.decode()
    assert "Sign in with" not in page
    assert "Break-glass" not in page
    assert 'name="password"' in page


def test_with_a_provider_the_login_page_offers_it_next_to_local_login(client, provider_configured):
    page = client.get("/login/?next=/workspaces/").content.decode()
    assert "Sign in with DCE Login" in page
    assert 'href="/oidc/authenticate/?next=/workspaces/"' in page
    assert "Or log in with a Wharf account" in page
    assert "Break-glass" not in page


def test_with_local_login_off_only_the_break_glass_form_remains(client, local_login_off):
    page = client.get("/login/").content.decode()
    assert "Sign in with DCE Login" in page
    assert "Break-glass login (superusers only)" in page
    assert "Local login is turned off" in page


def test_with_local_login_off_a_user_with_a_password_cannot_log_in(client, local_login_off, ws_editor):
    response = log_in(client, "ws-editor")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_with_local_login_off_a_platform_admin_who_is_no_superuser_cannot_log_in(
    client, local_login_off, admin
):
    assert log_in(client, "root-admin").status_code == 200
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_with_local_login_off_the_break_glass_superuser_still_logs_in(client, local_login_off):
    User.objects.create_superuser("break-glass", "bg@example.com", PASSWORD)
    response = log_in(client, "break-glass")
    assert response.status_code == 302
    assert client.get("/").wsgi_request.user.username == "break-glass"


def basic(username: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Basic " + b64encode(f"{username}:{PASSWORD}".encode()).decode())
    return api


def test_with_local_login_off_api_basic_auth_is_refused_except_for_the_superuser(local_login_off, ws_editor):
    assert basic("ws-editor").get("/api/v1/workspaces/").status_code == 401
    User.objects.create_superuser("break-glass", "bg@example.com", PASSWORD)
    assert basic("break-glass").get("/api/v1/workspaces/").status_code == 200


def test_with_local_login_on_api_basic_auth_works_as_before(provider_configured, ws_editor):
    assert basic("ws-editor").get("/api/v1/workspaces/").status_code == 200


def test_turning_local_login_off_ends_sessions_made_by_local_login(client, settings, ws_editor):
    assert log_in(client, "ws-editor").status_code == 302
    settings.WHARF_LOCAL_LOGIN = False
    settings.WHARF_OIDC_ISSUER = "https://sso.example.com/realms/dce"
    assert client.get("/").status_code == 302  # back to the login page


def test_personal_api_tokens_keep_working_with_local_login_off(local_login_off, ws_editor):
    from portal.api import tokens

    _, key = tokens.issue(ws_editor, "ci")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/workspaces/").status_code == 200


def test_a_user_made_by_sign_in_has_no_password_to_log_in_with(client, provider_configured):
    user = make_user("dana")
    user.set_unusable_password()
    user.save()
    assert log_in(client, "dana", "").status_code == 200
    assert not client.get("/").wsgi_request.user.is_authenticated

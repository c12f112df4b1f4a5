"""Where the browser is sent: ``next`` only ever names a page of this site, and an htmx
request whose session has expired navigates to the login page instead of drawing it inside a
dialog."""

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from conftest import PASSWORD
from portal.redirects import is_same_site_path
from registries.models import RegistrySpace

OTHER_SITES = [
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "https://evil.example/",
    "http:evil.example",
    "https:/evil.example/",
    "///evil.example/",
    "javascript:alert(1)",
    " //evil.example/",
    "\x00//evil.example/",
]
# Not another site, but a header cannot hold it: refused rather than answered with a 500.
CONTROL_CHARACTERS = ["/registries/\r\nSet-Cookie: x=1", "/registries/\x00"]


@pytest.mark.parametrize("target", OTHER_SITES + CONTROL_CHARACTERS)
def test_open_redirect_other_sites_are_not_same_site_paths(target):
    assert not is_same_site_path(target)


@pytest.mark.parametrize("target", ["/registries/", "/registries/?q=plat&page=2", "/explain/?image=a%2Fb"])
def test_open_redirect_paths_of_this_site_are(target):
    assert is_same_site_path(target)


@pytest.mark.parametrize("target", OTHER_SITES + CONTROL_CHARACTERS)
def test_open_redirect_sync_now_ignores_a_next_on_another_site(client, admin, registry, target):
    client.force_login(admin)
    response = client.post(reverse("registries:sync", args=[registry.pk]), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("registries:detail", args=[registry.pk])


def test_open_redirect_sync_now_returns_to_a_page_of_this_site(client, admin, registry):
    client.force_login(admin)
    response = client.post(
        reverse("registries:sync", args=[registry.pk]), {"next": reverse("registries:platform-list")}
    )
    assert response["Location"] == reverse("registries:platform-list")


@pytest.mark.parametrize("target", OTHER_SITES)
def test_open_redirect_login_ignores_a_next_on_another_site(client, ws_viewer, target):
    response = client.post(
        reverse("login"), {"username": ws_viewer.username, "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


@pytest.mark.parametrize("target", OTHER_SITES)
def test_open_redirect_login_page_of_a_signed_in_user_ignores_it_too(client, ws_viewer, target):
    client.force_login(ws_viewer)
    response = client.get(reverse("login"), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_open_redirect_login_form_does_not_carry_a_foreign_next(client, db):
    page = client.get(reverse("login"), {"next": "//evil.example/"})
    assert "evil.example" not in page.text


def test_login_returns_to_the_page_of_this_site_it_was_asked_for(client, ws_viewer):
    response = client.post(
        reverse("login"),
        {"username": ws_viewer.username, "password": PASSWORD, "next": "/explain/?namespace=1"},
    )
    assert response["Location"] == "/explain/?namespace=1"


@pytest.mark.parametrize("target", OTHER_SITES)
def test_open_redirect_logout_ignores_a_next_on_another_site(client, ws_viewer, target):
    client.force_login(ws_viewer)
    response = client.post(reverse("logout"), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


# htmx and an expired session -----------------------------------------------------------------


def htmx_headers(current="http://testserver/registries/"):
    return {"HX-Request": "true", "HX-Current-URL": current}


@pytest.fixture
def space(registry):
    return RegistrySpace.objects.create(registry=registry, name="team", visibility="private")


def expire_session(client):
    Session.objects.all().delete()


def test_htmx_request_after_the_session_expired_gets_hx_redirect_to_login(client, admin, registry, space):
    client.force_login(admin)
    expire_session(client)
    dialog = reverse("registries:space-bindings", args=[registry.pk, space.pk])
    response = client.get(dialog, headers=htmx_headers(f"http://testserver/registries/{registry.pk}/spaces/"))
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/login/?next=/registries/{registry.pk}/spaces/"
    # Nothing for htmx to draw in the dialog: no login form.
    assert b"password" not in response.content


def test_htmx_post_after_the_session_expired_gets_hx_redirect_too(client, admin, registry, space):
    client.force_login(admin)
    expire_session(client)
    response = client.post(
        reverse("registries:space-bindings", args=[registry.pk, space.pk]),
        {"workspaces": []},
        headers=htmx_headers(),
    )
    assert response["HX-Redirect"] == "/login/?next=/registries/"


def test_htmx_login_redirect_keeps_the_request_path_when_the_current_url_is_another_site(
    client, registry, space
):
    dialog = reverse("registries:space-bindings", args=[registry.pk, space.pk])
    response = client.get(dialog, headers=htmx_headers("https://evil.example/registries/"))
    assert response["HX-Redirect"] == f"/login/?next={dialog}"


def test_htmx_request_without_a_session_and_without_a_current_url(client, db):
    response = client.get(reverse("workspaces:list"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/workspaces/"


def test_a_plain_request_still_gets_the_login_redirect(client, db):
    response = client.get(reverse("workspaces:list"))
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/workspaces/"
    assert "HX-Redirect" not in response


def test_a_signed_in_htmx_request_gets_its_fragment(client, admin, registry, space):
    client.force_login(admin)
    response = client.get(
        reverse("registries:space-bindings", args=[registry.pk, space.pk]), headers=htmx_headers()
    )
    assert response.status_code == 200
    assert "HX-Redirect" not in response


def test_other_htmx_redirects_are_left_alone(client, admin, registry):
    client.force_login(admin)
    response = client.post(reverse("registries:sync", args=[registry.pk]), headers=htmx_headers())
    assert response.status_code == 302
    assert "HX-Redirect" not in response

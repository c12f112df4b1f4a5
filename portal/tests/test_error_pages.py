"""403, 404 and 500: styled pages inside the layout with a way back; the API keeps JSON."""

import pytest
from django.core.exceptions import PermissionDenied
from django.template import loader
from django.test import RequestFactory
from django.urls import reverse

from portal import views


@pytest.mark.django_db
def test_member_following_an_admin_link_is_told_the_page_needs_the_admin_role(client, ws_editor):
    client.force_login(ws_editor)
    response = client.get(reverse("registries:platform-list"))
    page = response.content.decode()
    assert response.status_code == 403
    assert "This page needs the Admin role." in page
    # Inside the layout: the member's own navigation and a way back.
    assert 'id="sidenav"' in page and "Main navigation" in page
    assert f'href="{reverse("dashboard")}">Back to the dashboard</a>' in page


@pytest.mark.django_db
def test_a_refusal_without_a_role_rule_says_so_without_naming_a_role(ws_viewer, rf):
    request = rf.get("/somewhere/")
    request.user = ws_viewer
    response = views.permission_denied(request, PermissionDenied())
    page = response.content.decode()
    assert response.status_code == 403
    assert "Your role does not allow this page." in page
    assert "needs the" not in page


@pytest.mark.django_db
def test_unknown_page_is_a_styled_404_inside_the_layout(client, admin):
    client.force_login(admin)
    response = client.get(reverse("registries:detail", args=[999999]))
    page = response.content.decode()
    assert response.status_code == 404
    assert "<h1" in page and "Page not found" in page
    assert 'id="sidenav"' in page
    assert "Back to the dashboard" in page


@pytest.mark.django_db
def test_api_errors_stay_json(client, ws_editor):
    client.force_login(ws_editor)
    missing = client.get("/api/v1/no-such-endpoint/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found."}


def test_server_error_page_renders_without_a_request_or_database():
    # No django_db mark: any query here fails the test.
    html = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in html
    assert 'href="/"' in html
    response = views.server_error(RequestFactory().get("/registries/"))
    assert response.status_code == 500
    assert b"Error 500" in response.content


def test_server_error_under_the_api_is_json():
    response = views.server_error(RequestFactory().get("/api/v1/registries/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_viewer_opening_a_workspace_admin_page_is_told_it_needs_the_workspace_admin_role(
    client, ws_viewer, workspace
):
    client.force_login(ws_viewer)
    response = client.get(reverse("registries:workspace-create") + f"?workspace={workspace.pk}")
    assert response.status_code == 403
    assert "This page needs the Workspace Admin role." in response.content.decode()

"""Single sign-on in Chromium: the provider's own login and consent pages, then Wharf.

The provider is a real OpenID provider (oidc-provider on loopback); Wharf is the live server.
"""

import os
import re

import pytest
from playwright.sync_api import expect

from portal.models import AuditEvent
from workspaces.models import Membership, Workspace

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PASSWORD = "dana-at-the-provider"


def sign_in_at_the_provider(page, oidc, live_server, *, expect_login_page=True):
    page.goto("/login/")
    with page.expect_navigation():
        page.get_by_role("link", name="Sign in with Test IdP").click()
    if expect_login_page:
        assert page.url.startswith(f"{oidc.issuer}/interaction/"), page.url
        expect(page.get_by_role("heading", name="Sign in to the test provider")).to_be_visible()
        page.get_by_label("Username").fill("dana")
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
    if page.url.startswith(f"{oidc.issuer}/interaction/"):
        expect(page.get_by_role("heading", name="Authorize Wharf")).to_be_visible()
        with page.expect_navigation():
            page.get_by_role("button", name="Allow").click()
    assert page.url == f"{live_server.url}/", page.url


def test_a_person_signs_in_at_the_provider_works_as_editor_and_loses_the_role_with_the_group(
    page, page_errors, oidc, live_server, tmp_path
):
    page_errors.allow(r"status of 404")  # the workspace page, once the role is gone
    payments = Workspace.objects.create(name="payments", description="Payments team")
    oidc.set_account("dana", password=PASSWORD, groups=["wharf:payments:editor"])

    sign_in_at_the_provider(page, oidc, live_server)
    expect(page.locator(".topbar-user")).to_contain_text("dana")
    expect(page.get_by_role("row", name=re.compile(r"payments\s+Workspace Editor"))).to_be_visible()
    if os.environ.get("WHARF_SCREENSHOTS"):
        page.screenshot(path=str(tmp_path / "signed-in.png"), caret="initial")
    page.goto(f"/workspaces/{payments.pk}/")
    expect(page.get_by_role("heading", name="payments")).to_be_visible()
    expect(page.get_by_text("from the identity provider")).to_be_visible()

    # Logging out of Wharf ends the provider's session too (RP-initiated logout).
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Sign out")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, sign me out").click()
    assert page.url == f"{live_server.url}/login/"

    # The provider's administrator removes the group; the next sign-in takes the role away.
    oidc.set_account("dana", password=PASSWORD, groups=[])
    sign_in_at_the_provider(page, oidc, live_server)
    expect(page.get_by_text("You are not a member of any workspace")).to_be_visible()
    assert not Membership.objects.filter(user__username="dana").exists()
    response = page.goto(f"/workspaces/{payments.pk}/")
    assert response.status in (403, 404)
    assert list(
        AuditEvent.objects.filter(target_label="payments").order_by("id").values_list("action", flat=True)
    ) == ["membership.sign_in_grant", "membership.sign_in_revoke"]


def test_a_refused_sign_in_shows_a_clear_page_in_the_browser(page, page_errors, oidc, live_server):
    oidc.set_account("dana", password=PASSWORD, groups=None)  # no group claim at all
    page_errors.allow(r"status of 403")
    page.goto("/login/")
    with page.expect_navigation():
        page.get_by_role("link", name="Sign in with Test IdP").click()
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Sign-in with Test IdP failed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("carries no group information")
    with page.expect_navigation():
        page.get_by_role("link", name="Back to the login page").click()
    assert page.url == f"{live_server.url}/login/"
    assert not Membership.objects.exists()

"""Signing in through a real OpenID provider (oidc-provider on loopback), browser played by httpx."""

import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from conftest import make_user
from portal.models import AuditEvent
from portal.permissions import ADMIN_GROUP, is_admin
from sso.models import OidcIdentity
from sso.tests.oidc_provider import ADMIN_GROUP as PROVIDER_ADMIN_GROUP
from sso.tests.oidc_provider import CLIENT_ID, ProviderBrowser, free_port
from workspaces import services as workspace_services
from workspaces.models import Membership, Workspace

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def world() -> dict:
    """What a refused sign-in must leave as it was."""
    return {
        "users": sorted(User.objects.values_list("username", flat=True)),
        "identities": OidcIdentity.objects.count(),
        "memberships": sorted(Membership.objects.values_list("user__username", "workspace__name", "role")),
        "admins": sorted(User.objects.filter(groups__name=ADMIN_GROUP).values_list("username", flat=True)),
        "audit": AuditEvent.objects.count(),
    }


def signed_in_user(client):
    return client.get("/").wsgi_request.user


# -- the flow --------------------------------------------------------------------------------------


def test_a_new_person_signs_in_and_lands_on_the_dashboard_as_a_workspace_editor(
    provider_browser, oidc, client, workspace
):
    oidc.set_account("dana", groups=["wharf:payments:editor"])
    response = provider_browser.sign_in(client, "dana")
    assert response.status_code == 302
    assert response["Location"] == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "payments" in dashboard.content.decode()
    assert "Workspace Editor" in dashboard.content.decode()
    user = dashboard.wsgi_request.user
    assert user.username == "dana"
    assert user.email == "dana@example.com"
    assert not user.has_usable_password()
    membership = Membership.objects.get(user=user)
    assert (membership.workspace, membership.role, membership.source) == (workspace, "editor", "provider")


def test_the_authorization_request_uses_pkce_state_and_nonce(provider_browser, oidc, client):
    url = provider_browser.start(client)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(oidc.issuer + "/auth?")
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["scope"] == ["openid profile email groups"]
    assert query["redirect_uri"] == ["http://testserver/oidc/callback/"]
    # The verifier stays in Wharf's session; only its hash went to the browser.
    stored = client.session["oidc_states"][query["state"][0]]
    assert stored["nonce"] == query["nonce"][0]
    assert stored["code_verifier"] not in url


def test_next_survives_the_round_trip_but_only_within_wharf(provider_browser, oidc, client):
    oidc.set_account("dana", groups=[])
    back = provider_browser.authorize(
        provider_browser.start(client, next_url="/workspaces/"), "dana", "provider-password"
    )
    assert provider_browser.callback(client, back)["Location"] == "/workspaces/"
    other = Client()
    back = provider_browser.authorize(
        provider_browser.start(other, next_url="https://evil.example/"), "dana", "provider-password"
    )
    assert provider_browser.callback(other, back)["Location"] == "/"


def test_the_same_person_signing_in_again_is_the_same_user(provider_browser, oidc, client):
    oidc.set_account("dana", groups=[])
    provider_browser.sign_in(client, "dana")
    first = signed_in_user(client)
    again = Client()
    ProviderBrowser(oidc).sign_in(again, "dana")
    assert signed_in_user(again) == first
    assert OidcIdentity.objects.get(user=first).subject == oidc.state["accounts"]["dana"]["sub"]


def test_people_are_matched_by_issuer_and_subject_never_by_email(provider_browser, oidc, client, db):
    local = make_user("dana-local")
    local.email = "shared@example.com"
    local.save()
    oidc.set_account("dana", groups=[], email="shared@example.com")
    provider_browser.sign_in(client, "dana")
    user = signed_in_user(client)
    assert user != local
    assert user.email == "shared@example.com"
    # Another account at the provider with the same address is yet another person.
    oidc.set_account("impostor", groups=[], email="shared@example.com")
    other = Client()
    ProviderBrowser(oidc).sign_in(other, "impostor")
    assert signed_in_user(other) not in (user, local)


def test_a_provider_username_that_is_taken_in_wharf_gets_another_name(provider_browser, oidc, client, admin):
    oidc.set_account("root-admin", groups=[])
    provider_browser.sign_in(client, "root-admin")
    user = signed_in_user(client)
    assert user.username == "root-admin-2"
    assert user != admin
    assert not is_admin(user)


# -- roles from the group claim -------------------------------------------------------------------


def test_roles_follow_the_groups_at_every_sign_in_and_each_change_is_audited(
    provider_browser, oidc, workspace, other_workspace
):
    oidc.set_account("dana", groups=["wharf:payments:viewer", "wharf:search:editor", "unrelated"])
    provider_browser.sign_in(Client(), "dana")
    user = User.objects.get(username="dana")
    roles = dict(Membership.objects.filter(user=user).values_list("workspace__name", "role"))
    assert roles == {"payments": "viewer", "search": "editor"}
    assert AuditEvent.objects.filter(action="membership.sign_in_grant").count() == 2

    oidc.set_account("dana", groups=["wharf:payments:admin"])
    ProviderBrowser(oidc).sign_in(Client(), "dana")
    roles = dict(Membership.objects.filter(user=user).values_list("workspace__name", "role"))
    assert roles == {"payments": "admin"}
    change = AuditEvent.objects.get(action="membership.sign_in_change")
    assert change.target_label == "payments"
    assert change.before == {"user": "dana", "role": "viewer"}
    assert change.after == {"user": "dana", "role": "admin", "by": "Test IdP"}
    revoke = AuditEvent.objects.get(action="membership.sign_in_revoke")
    assert revoke.target_label == "search"
    assert revoke.before["role"] == "editor"


def test_the_strongest_role_wins_when_groups_name_a_workspace_twice(
    provider_browser, oidc, client, workspace
):
    oidc.set_account(
        "dana", groups=["wharf:payments:viewer", "wharf:payments:admin", "wharf:payments:editor"]
    )
    provider_browser.sign_in(client, "dana")
    assert Membership.objects.get(user__username="dana").role == "admin"


def test_groups_naming_unknown_workspaces_or_roles_grant_nothing(
    provider_browser, oidc, client, workspace, caplog
):
    oidc.set_account(
        "dana",
        groups=[
            "wharf:nowhere:admin",
            "wharf:payments:owner",
            "wharf:Payments:admin",
            "xwharf:payments:admin",
        ],
    )
    with caplog.at_level(logging.INFO, logger="sso"):
        provider_browser.sign_in(client, "dana")
    assert not Membership.objects.filter(user__username="dana").exists()
    assert "nowhere" in caplog.text


def test_memberships_made_in_wharf_stay_whatever_the_groups_say(
    provider_browser, oidc, client, workspace, other_workspace, admin
):
    oidc.set_account("dana", groups=[])
    provider_browser.sign_in(client, "dana")
    user = signed_in_user(client)
    workspace_services.add_member(workspace, admin, user=user, role="viewer")
    workspace_services.add_member(other_workspace, admin, user=user, role="admin")
    oidc.set_account("dana", groups=["wharf:payments:admin"])
    ProviderBrowser(oidc).sign_in(Client(), "dana")
    memberships = {m.workspace.name: (m.role, m.source) for m in Membership.objects.filter(user=user)}
    assert memberships == {"payments": ("viewer", "wharf"), "search": ("admin", "wharf")}


def test_the_admin_group_makes_a_platform_admin_until_it_is_removed(provider_browser, oidc, client):
    oidc.set_account("pat", groups=[PROVIDER_ADMIN_GROUP])
    provider_browser.sign_in(client, "pat")
    assert client.get("/registries/").status_code == 200
    user = User.objects.get(username="pat")
    assert is_admin(user)
    assert AuditEvent.objects.filter(action="admin.sign_in_grant", target_label="pat").exists()

    oidc.set_account("pat", groups=[])
    later = Client()
    ProviderBrowser(oidc).sign_in(later, "pat")
    assert not is_admin(User.objects.get(username="pat"))
    assert later.get("/registries/").status_code == 403
    assert AuditEvent.objects.filter(action="admin.sign_in_revoke", target_label="pat").exists()


def test_an_admin_made_in_wharf_stays_admin_without_the_group(provider_browser, oidc, client):
    oidc.set_account("pat", groups=[])
    provider_browser.sign_in(client, "pat")
    user = signed_in_user(client)
    user.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    ProviderBrowser(oidc).sign_in(Client(), "pat")
    assert is_admin(User.objects.get(pk=user.pk))


# -- logout ---------------------------------------------------------------------------------------


def test_logout_ends_the_provider_session_too(provider_browser, oidc, client):
    oidc.set_account("dana", groups=[])
    provider_browser.sign_in(client, "dana")
    id_token = client.session["oidc_id_token"]
    response = client.post("/logout/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{oidc.issuer}/session/end"
    query = parse_qs(location.query)
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://testserver/login/"]
    assert not signed_in_user(client).is_authenticated
    # The provider accepts the request and asks to confirm, as a real logout would.
    confirm = provider_browser.http.get(response["Location"])
    assert confirm.status_code == 200, confirm.text
    assert "Yes, sign me out" in confirm.text


def test_logout_of_a_local_login_stays_in_wharf(oidc, client, ws_viewer):
    client.force_login(ws_viewer)
    response = client.post("/logout/")
    assert response["Location"] == "/login/"


# -- refusals: a clear page, no user, nothing changed, the reason in the log -----------------------


def refused(response, status, text, caplog, reason):
    page = response.content.decode()
    assert response.status_code == status, page[:1500]
    assert "Sign-in with Test IdP failed" in page
    assert text in page
    assert reason in caplog.text, caplog.text
    return page


@pytest.fixture
def quiet_world(oidc, workspace, caplog):
    oidc.set_account("dana", groups=["wharf:payments:editor"])
    caplog.set_level(logging.WARNING, logger="sso")
    return world()


def test_discovery_failing_is_a_clear_page(oidc, client, settings, caplog, quiet_world):
    settings.WHARF_OIDC_ISSUER = f"http://127.0.0.1:{free_port()}"
    refused(client.get("/oidc/authenticate/"), 502, "could not be reached", caplog, "discovery at")
    assert world() == quiet_world


def test_a_provider_naming_another_issuer_is_refused(oidc, client, settings, caplog, quiet_world):
    settings.WHARF_OIDC_ISSUER = oidc.issuer + "/"
    refused(
        client.get("/oidc/authenticate/"),
        502,
        "does not identify itself",
        caplog,
        f"names issuer '{oidc.issuer}'",
    )
    assert world() == quiet_world


def test_the_provider_going_down_before_the_code_exchange_is_a_clear_page(
    provider_browser, oidc, client, caplog, quiet_world
):
    back = provider_browser.authorize(provider_browser.start(client), "dana", "provider-password")
    oidc.stop()
    refused(
        provider_browser.callback(client, back),
        502,
        "could not be reached",
        caplog,
        "the provider could not be reached",
    )
    assert world() == quiet_world
    assert not signed_in_user(client).is_authenticated


@pytest.mark.parametrize(
    "tamper, status, reason",
    [
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, 401, "ID token expired"),
        ({"sign_with": "stranger"}, 401, "signature does not verify"),
        ({"aud": "someone-else"}, 401, "ID token is for audience 'someone-else'"),
        ({"iss": "http://127.0.0.1:1"}, 401, "ID token was issued by 'http://127.0.0.1:1'"),
        ({"nonce": "another-sign-in"}, 400, "nonce does not match"),
        ({"unset": ["exp"]}, 401, "lacks the 'exp' claim"),
    ],
    ids=["expired", "forged", "wrong-audience", "wrong-issuer", "wrong-nonce", "no-expiry"],
)
def test_a_bad_id_token_is_refused(
    provider_browser, oidc, client, caplog, quiet_world, tamper, status, reason
):
    oidc.tamper_id_token(**tamper)
    response = provider_browser.sign_in(client, "dana")
    refused(response, status, "", caplog, reason)
    assert world() == quiet_world
    assert not signed_in_user(client).is_authenticated


def test_a_callback_from_another_browser_is_refused(provider_browser, oidc, client, caplog, quiet_world):
    back = provider_browser.authorize(provider_browser.start(client), "dana", "provider-password")
    stranger = Client()
    stranger.get("/login/")
    refused(
        provider_browser.callback(stranger, back),
        400,
        "does not belong to a sign-in",
        caplog,
        "state is not one this browser's session started",
    )
    assert world() == quiet_world


def test_a_tampered_state_is_refused(provider_browser, oidc, client, caplog, quiet_world):
    back = provider_browser.authorize(provider_browser.start(client), "dana", "provider-password")
    refused(
        provider_browser.callback(client, back.replace("state=", "state=x")),
        400,
        "does not belong to a sign-in",
        caplog,
        "state is not one",
    )
    assert world() == quiet_world


def test_a_callback_used_twice_is_refused_the_second_time(provider_browser, oidc, client, caplog):
    oidc.set_account("dana", groups=[])
    back = provider_browser.authorize(provider_browser.start(client), "dana", "provider-password")
    assert provider_browser.callback(client, back).status_code == 302
    client.post("/logout/")
    caplog.set_level(logging.WARNING, logger="sso")
    refused(
        provider_browser.callback(client, back),
        400,
        "does not belong to a sign-in",
        caplog,
        "state is not one",
    )


def test_a_callback_without_code_is_refused(oidc, client, caplog, quiet_world):
    refused(client.get("/oidc/callback/?state=abc"), 400, "Please start again", caplog, "no code or no state")
    assert world() == quiet_world


def test_a_missing_group_claim_refuses_the_sign_in_and_creates_no_user(
    provider_browser, oidc, client, caplog, quiet_world
):
    oidc.set_account("nogroups", groups=None)
    refused(
        provider_browser.sign_in(client, "nogroups"),
        403,
        "carries no group information",
        caplog,
        "the 'groups' claim is missing",
    )
    assert world() == quiet_world


def test_a_malformed_group_claim_is_refused(provider_browser, oidc, client, caplog, quiet_world):
    account = oidc.set_account("odd", groups=None)
    account["claims"]["groups"] = {"wharf:payments:admin": True}
    oidc.save()
    refused(
        provider_browser.sign_in(client, "odd"),
        403,
        "carries no group information",
        caplog,
        "is not a list of group names",
    )
    assert world() == quiet_world


def test_a_refusal_at_the_provider_is_a_clear_page(provider_browser, oidc, client, caplog, quiet_world):
    back = provider_browser.authorize(
        provider_browser.start(client), "dana", "provider-password", consent=False
    )
    refused(provider_browser.callback(client, back), 400, "could not be completed", caplog, "access_denied")
    assert world() == quiet_world


def test_a_deactivated_user_cannot_sign_in_and_keeps_their_roles(
    provider_browser, oidc, client, caplog, workspace
):
    oidc.set_account("dana", groups=["wharf:payments:editor"])
    provider_browser.sign_in(Client(), "dana")
    User.objects.filter(username="dana").update(is_active=False)
    oidc.set_account("dana", groups=[])
    caplog.set_level(logging.WARNING, logger="sso")
    before = world()
    refused(ProviderBrowser(oidc).sign_in(client, "dana"), 403, "deactivated", caplog, "is inactive")
    assert world() == before


def test_a_rotated_signing_key_is_picked_up_at_the_next_sign_in(provider_browser, oidc, client):
    oidc.set_account("dana", groups=[])
    provider_browser.sign_in(client, "dana")
    old_kid = oidc.keys[0]["kid"]
    oidc.rotate_keys()
    assert oidc.keys[0]["kid"] != old_kid
    again = Client()
    assert ProviderBrowser(oidc).sign_in(again, "dana").status_code == 302
    assert signed_in_user(again).username == "dana"


def test_without_a_provider_the_sign_in_urls_do_not_exist(client, db, settings):
    settings.WHARF_OIDC_ISSUER = ""
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


def test_the_workspace_page_marks_members_from_the_provider(provider_browser, oidc, client, workspace, admin):
    oidc.set_account("dana", groups=["wharf:payments:viewer"])
    provider_browser.sign_in(Client(), "dana")
    client.force_login(admin)
    page = client.get(f"/workspaces/{workspace.pk}/").content.decode()
    assert "from the identity provider" in page


def test_workspaces_are_never_created_by_sign_in(provider_browser, oidc, client, db):
    oidc.set_account("dana", groups=["wharf:brand-new:admin"])
    provider_browser.sign_in(client, "dana")
    assert not Workspace.objects.filter(name="brand-new").exists()

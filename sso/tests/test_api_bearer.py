"""The REST API accepts the provider's access tokens (CI pipelines), from a real oidc-provider."""

import json
import logging
import re
import time

import jwt
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from portal.models import AuditEvent
from sso import tokens
from sso.models import OidcIdentity
from sso.tests.oidc_provider import API_AUDIENCE, CI_CLIENT_ID, CLIENT_ID, ProviderBrowser, new_signing_key
from workspaces.models import Membership

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

API = "/api/v1/workspaces/"


def bearer(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def mint(oidc, *, key: dict | None = None, kid: str | None = None, unset=(), **overrides) -> str:
    """A token as the provider would sign it, for cases a correct provider never issues."""
    key = key or oidc.keys[0]
    now = int(time.time())
    claims = {
        "iss": oidc.issuer,
        "sub": CI_CLIENT_ID,
        "aud": API_AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "groups": ["wharf:payments:viewer"],
        **overrides,
    }
    for claim in unset:
        claims.pop(claim)
    signing_key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(key))
    return jwt.encode(
        claims, signing_key, algorithm="RS256", headers={"kid": kid or key["kid"], "typ": "at+jwt"}
    )


def nothing_created():
    return not User.objects.exists() and not OidcIdentity.objects.exists() and not AuditEvent.objects.exists()


@pytest.fixture
def refusals(caplog):
    caplog.set_level(logging.WARNING, logger="sso")
    return caplog


def test_a_pipeline_calls_the_api_with_the_providers_access_token(oidc, workspace, other_workspace):
    oidc.set_service(groups=["wharf:payments:viewer"])
    response = bearer(oidc.client_credentials_token()).get(API)
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["payments"]
    identity = OidcIdentity.objects.get(subject=CI_CLIENT_ID)
    assert identity.issuer == oidc.issuer
    membership = Membership.objects.get(user=identity.user)
    assert (membership.workspace, membership.role, membership.source) == (workspace, "viewer", "provider")


def test_the_pipelines_role_follows_the_groups_of_each_new_token(oidc, workspace):
    oidc.set_service(groups=["wharf:payments:viewer"])
    token = oidc.client_credentials_token()
    bearer(token).get(API)
    with CaptureQueriesContext(connection) as queries:
        assert bearer(token).get(API).status_code == 200
    writes = [
        query["sql"]
        for query in queries
        if re.match(r"\s*(INSERT|UPDATE|DELETE)", query["sql"]) or "FOR UPDATE" in query["sql"]
    ]
    assert writes == []  # the same claims again: an API read stays a read
    oidc.set_service(groups=[])
    assert bearer(oidc.client_credentials_token()).get(API).json()["results"] == []
    assert not Membership.objects.exists()
    assert AuditEvent.objects.filter(action="membership.sign_in_revoke").count() == 1


def test_an_access_token_for_another_audience_is_401_and_creates_nothing(oidc, settings, workspace, refusals):
    oidc.set_service(groups=["wharf:payments:viewer"])
    settings.WHARF_OIDC_API_AUDIENCE = "urn:another:api"
    response = bearer(oidc.client_credentials_token()).get(API)
    assert response.status_code == 401
    assert "could not be verified" in response.json()["detail"]
    assert "access token is for audience 'urn:wharf:api', not 'urn:another:api'" in refusals.text
    assert nothing_created()


@pytest.mark.parametrize(
    "make, reason",
    [
        (
            lambda oidc: mint(oidc, exp=int(time.time()) - 600, iat=int(time.time()) - 900),
            "access token expired",
        ),
        (
            lambda oidc: mint(oidc, key=new_signing_key(), kid=oidc.keys[0]["kid"]),
            "signature does not verify",
        ),
        (lambda oidc: mint(oidc, key=new_signing_key()), "which the provider does not publish"),
        (
            lambda oidc: mint(oidc, iss="http://127.0.0.1:1"),
            "access token was issued by 'http://127.0.0.1:1'",
        ),
        (lambda oidc: mint(oidc, unset=["sub"]), "lacks the 'sub' claim"),
        (
            lambda oidc: jwt.encode(
                {"sub": "x", "aud": API_AUDIENCE}, "secret-secret-secret-secret-secret-00", algorithm="HS256"
            ),
            "signed with 'HS256'",
        ),
        (
            lambda oidc: jwt.encode({"sub": "x", "aud": API_AUDIENCE}, None, algorithm="none"),
            "signed with 'none'",
        ),
        (lambda oidc: "not-a-jwt", "access token is not a JWT"),
    ],
    ids=["expired", "forged", "unknown-key", "wrong-issuer", "no-subject", "hmac", "unsigned", "garbage"],
)
def test_a_bad_access_token_is_401_and_creates_nothing(oidc, workspace, refusals, make, reason):
    response = bearer(make(oidc)).get(API)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert reason in refusals.text
    assert nothing_created()


def test_a_minted_token_that_is_correct_is_accepted(oidc, workspace):
    """The counterpart of the refusals above: the same minting, nothing wrong, passes."""
    assert bearer(mint(oidc)).get(API).status_code == 200


def test_an_id_token_is_not_an_access_token(oidc, settings, client, workspace, refusals):
    oidc.set_account("dana", groups=["wharf:payments:viewer"])
    ProviderBrowser(oidc).sign_in(client, "dana")
    id_token = client.session["oidc_id_token"]
    settings.WHARF_OIDC_API_AUDIENCE = CLIENT_ID  # the audience of Wharf's ID tokens
    response = bearer(id_token).get(API)
    assert response.status_code == 401
    assert "This is an ID token" in response.json()["detail"]
    assert "access token is an ID token" in refusals.text


def test_an_access_token_without_the_group_claim_is_401_and_creates_nothing(oidc, workspace, refusals):
    oidc.set_service(groups=None)
    response = bearer(oidc.client_credentials_token()).get(API)
    assert response.status_code == 401
    assert "no group information" in response.json()["detail"]
    assert "the 'groups' claim is missing" in refusals.text
    assert nothing_created()


def test_tokens_signed_with_a_rotated_key_are_accepted(oidc, workspace):
    oidc.set_service(groups=["wharf:payments:viewer"])
    assert bearer(oidc.client_credentials_token()).get(API).status_code == 200
    oidc.rotate_keys()
    # An unknown key id makes one fresh fetch of the provider's keys, at most this often.
    time.sleep(tokens.JWKS_REFRESH_COOLDOWN + 0.5)
    assert bearer(oidc.client_credentials_token()).get(API).status_code == 200


def test_the_provider_being_down_is_401_not_500(oidc, workspace, refusals):
    oidc.set_service(groups=["wharf:payments:viewer"])
    token = oidc.client_credentials_token()
    oidc.stop()
    response = bearer(token).get(API)
    assert response.status_code == 401
    assert "could not be reached" in response.json()["detail"]
    assert "discovery at" in refusals.text
    assert nothing_created()


def test_an_inactive_users_token_is_refused(oidc, workspace, refusals):
    oidc.set_service(groups=["wharf:payments:viewer"])
    bearer(oidc.client_credentials_token()).get(API)
    User.objects.update(is_active=False)
    response = bearer(oidc.client_credentials_token()).get(API)
    assert response.status_code == 401
    assert "deactivated" in response.json()["detail"]


@pytest.mark.parametrize("header", ["Bearer", "Bearer one two"])
def test_a_malformed_bearer_header_is_401(oidc, header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    assert api.get(API).status_code == 401


def test_without_a_provider_bearer_tokens_are_refused_with_a_hint(db, settings):
    settings.WHARF_OIDC_ISSUER = ""
    response = bearer("anything").get(API)
    assert response.status_code == 401
    assert "personal API token" in response.json()["detail"]


def test_the_api_schema_documents_provider_tokens(oidc, admin):
    api = APIClient()
    api.force_authenticate(admin)
    schema = api.get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200
    assert "providerToken" in schema.content.decode()

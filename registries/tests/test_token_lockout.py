"""Finding 7 at the token service: repeated wrong Basic credentials (user passwords, API tokens,
workspace secrets) lock the client out, with the Docker error shape; valid credentials cost
one read and no write. Finding 8: a NUL byte in the Basic username is refused, not a 500."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import PASSWORD
from portal.api import tokens as api_tokens
from portal.models import AuditEvent
from portal.tests import test_lockout
from portal.tests.test_lockout import ELSEWHERE, LIMIT
from registries.tests import test_token_service
from registries.tests.test_token_service import access_of, ask, basic

# The token service's tests' world: registry "tok", its spaces, bindings and credentials.
world = test_token_service.world
signing_key = test_token_service.signing_key

# The same lockout settings as the login page's tests: a limit of 3, per username and address.
lockout_settings = test_lockout.lockout_settings
PULL = ["repository:priv/app:pull"]

pytestmark = pytest.mark.usefixtures("lockout_settings")


def assert_locked_out(response):
    assert response.status_code == 429
    body = response.json()
    assert body["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert "Too many failed login attempts" in body["errors"][0]["message"]
    assert body["error"] == "toomanyrequests"
    assert response["Retry-After"] == "900"
    assert "token" not in body


def test_finding_7_token_service_locks_out_wrong_user_passwords(client, world, ws_viewer):
    for _attempt in range(LIMIT - 1):
        assert ask(client, PULL, auth=basic("ws-viewer", "wrong")).status_code == 401
    assert_locked_out(ask(client, PULL, auth=basic("ws-viewer", "wrong")))
    # The right password and the user's API token are refused while locked out.
    assert_locked_out(ask(client, PULL, auth=basic("ws-viewer", PASSWORD)))
    _token, key = api_tokens.issue(ws_viewer, "registry")
    assert_locked_out(ask(client, PULL, auth=basic("ws-viewer", key)))

    event = AuditEvent.objects.get(action="login.lockout")
    assert event.target_label == "ws-viewer from 127.0.0.1"
    assert event.after["path"] == "/auth/token"
    # Another address, anonymous pulls and a workspace's credential are unaffected.
    response = ask(Client(REMOTE_ADDR=ELSEWHERE), PULL, auth=basic("ws-viewer", PASSWORD))
    assert access_of(response) == {"priv/app": ["pull"]}
    assert ask(client, ["repository:pub/app:pull"]).status_code == 200
    username, secret = world["creds"]["payments"]
    assert access_of(ask(client, PULL, auth=basic(username, secret))) == {"priv/app": ["pull"]}


def test_finding_7_token_service_locks_out_wrong_workspace_secrets(client, world):
    username, secret = world["creds"]["payments"]
    for _attempt in range(LIMIT - 1):
        assert ask(client, PULL, auth=basic(username, secret + "-stale")).status_code == 401
    assert_locked_out(ask(client, PULL, auth=basic(username, secret + "-stale")))
    assert_locked_out(ask(client, PULL, auth=basic(username, secret)))
    assert AuditEvent.objects.get(action="login.lockout").target_label == f"{username} from 127.0.0.1"
    # The kubelets elsewhere keep pulling with the credential.
    response = ask(Client(REMOTE_ADDR=ELSEWHERE), PULL, auth=basic(username, secret))
    assert access_of(response) == {"priv/app": ["pull"]}


def test_finding_7_token_service_shares_the_lockout_with_the_login_page(client, world, ws_viewer):
    for _attempt in range(LIMIT):
        client.post("/login/", {"username": "ws-viewer", "password": "wrong"})
    assert_locked_out(ask(client, PULL, auth=basic("ws-viewer", PASSWORD)))


def test_finding_7_a_locked_out_token_request_costs_no_password_hash(client, world, ws_viewer, monkeypatch):
    for _attempt in range(LIMIT):
        ask(client, PULL, auth=basic("ws-viewer", "wrong"))

    def must_not_run(*args, **kwargs):
        raise AssertionError("the password was checked during a lockout")

    monkeypatch.setattr(ModelBackend, "authenticate", must_not_run)
    assert_locked_out(ask(client, PULL, auth=basic("ws-viewer", PASSWORD)))


def test_finding_7_token_service_works_again_after_the_cool_off(client, world, ws_viewer):
    for _attempt in range(LIMIT):
        ask(client, PULL, auth=basic("ws-viewer", "wrong"))
    assert ask(client, PULL, auth=basic("ws-viewer", PASSWORD)).status_code == 429
    # The cool-off counts from the last failure; 15 minutes later it is over.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert access_of(ask(client, PULL, auth=basic("ws-viewer", PASSWORD))) == {"priv/app": ["pull"]}


@pytest.mark.parametrize("who", ["credential", "user"])
def test_finding_7_a_valid_token_request_writes_nothing(client, world, ws_viewer, who):
    auth = basic(*world["creds"]["payments"]) if who == "credential" else basic("ws-viewer", PASSWORD)
    ask(client, PULL, auth=auth)  # the signing key is loaded
    with CaptureQueriesContext(connection) as queries:
        assert access_of(ask(client, PULL, auth=auth)) == {"priv/app": ["pull"]}
    statements = [query["sql"].lstrip().split()[0].upper() for query in queries]
    assert set(statements) == {"SELECT"}, statements


@pytest.mark.parametrize("username", ["ws-\x00payments", "\x00", "root\x00admin", "x" * 151])
def test_finding_8_nul_in_basic_username_token_service(client, world, admin, username):
    response = ask(client, PULL, auth=basic(username, PASSWORD))
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert not AccessAttempt.objects.exists()

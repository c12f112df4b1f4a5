"""Finding 7: repeated failed logins lock a client out (django-axes), on the login page and the
API; finding 8: a NUL byte in a Basic username is refused, not a 500. The token service's side
is in registries/tests/test_token_lockout.py."""

import base64
import io
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.backends import ModelBackend
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from conftest import PASSWORD
from portal.api import tokens as api_tokens
from portal.models import AuditEvent
from portal.tests.test_settings import ROOT, start_settings

LIMIT = 3
API = "/api/v1/workspaces/"
LOCKED_OUT = "Too many failed login attempts"
ELSEWHERE = "198.51.100.7"

pytestmark = pytest.mark.usefixtures("lockout_settings")


@pytest.fixture
def lockout_settings():
    with override_settings(
        AXES_FAILURE_LIMIT=LIMIT,
        AXES_COOLOFF_TIME=timedelta(minutes=15),
        AXES_LOCKOUT_PARAMETERS=[["username", "ip_address"]],
        WHARF_TRUSTED_PROXIES=[],
    ):
        yield


def log_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def api_as(username, password, address="127.0.0.1"):
    api = APIClient(REMOTE_ADDR=address)
    api.credentials(HTTP_AUTHORIZATION=basic(username, password))
    return api


def lockouts():
    return AuditEvent.objects.filter(action="login.lockout")


# -- the login page --------------------------------------------------------------------------


def test_finding_7_login_page_locks_out_after_repeated_wrong_passwords(client, ws_viewer):
    for _attempt in range(LIMIT - 1):
        page = log_in(client, "ws-viewer", "wrong")
        assert page.status_code == 200
        assert "Please enter a correct username and password" in page.text
    page = log_in(client, "ws-viewer", "wrong")
    assert page.status_code == 429
    assert LOCKED_OUT in page.text and "15 minutes" in page.text
    assert page["Retry-After"] == "900"

    # Even the right password is refused now, and the session stays anonymous.
    page = log_in(client, "ws-viewer", PASSWORD)
    assert page.status_code == 429
    assert LOCKED_OUT in page.text and "even with the right password" in page.text
    assert client.get(reverse("dashboard")).status_code == 302

    event = lockouts().get()
    assert event.actor_name == "system"
    assert event.target_label == "ws-viewer from 127.0.0.1"
    assert event.after["failures"] == LIMIT and event.after["path"] == "/login/"
    assert PASSWORD not in str(event.after) and "wrong" not in str(event.after)


def test_finding_7_attempts_during_a_lockout_add_no_events_and_do_not_extend_it(client, ws_viewer):
    for _attempt in range(LIMIT + 4):
        log_in(client, "ws-viewer", "wrong")
    assert lockouts().count() == 1
    assert AccessAttempt.objects.get().failures_since_start == LIMIT


def test_finding_7_login_lockout_spares_other_users_and_addresses(client, ws_viewer, ws_editor):
    for _attempt in range(LIMIT):
        log_in(client, "ws-viewer", "wrong")
    assert log_in(client, "ws-viewer", PASSWORD).status_code == 429
    # Another user at the same address, and the same user elsewhere, log in.
    assert log_in(Client(), "ws-editor", PASSWORD).status_code == 302
    assert log_in(Client(REMOTE_ADDR=ELSEWHERE), "ws-viewer", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("parameters", "other_user_here", "same_user_elsewhere"),
    [
        ([["username", "ip_address"]], 302, 302),
        (["ip_address"], 429, 302),
        (["username"], 302, 429),
        ([["username", "ip_address"], "ip_address"], 429, 302),
    ],
)
def test_finding_7_lockout_parameters_decide_who_else_is_locked_out(
    client, ws_viewer, ws_editor, parameters, other_user_here, same_user_elsewhere
):
    with override_settings(AXES_LOCKOUT_PARAMETERS=parameters):
        for _attempt in range(LIMIT):
            log_in(client, "ws-viewer", "wrong")
        assert log_in(client, "ws-viewer", PASSWORD).status_code == 429
        assert log_in(Client(), "ws-editor", PASSWORD).status_code == other_user_here
        assert log_in(Client(REMOTE_ADDR=ELSEWHERE), "ws-viewer", PASSWORD).status_code == same_user_elsewhere


def test_finding_7_a_locked_out_login_costs_no_password_hash(client, ws_viewer, monkeypatch):
    for _attempt in range(LIMIT):
        log_in(client, "ws-viewer", "wrong")
    checked = []
    original = ModelBackend.authenticate
    monkeypatch.setattr(
        ModelBackend,
        "authenticate",
        lambda self, *args, **kwargs: checked.append(1) or original(self, *args, **kwargs),
    )
    assert log_in(client, "ws-viewer", PASSWORD).status_code == 429
    assert log_in(client, "nobody-at-all", "guess").status_code == 200  # not locked: checked
    assert len(checked) == 1


def test_finding_7_login_works_again_after_the_cool_off(client, ws_viewer):
    with override_settings(AXES_COOLOFF_TIME=timedelta(seconds=1)):
        for _attempt in range(LIMIT):
            log_in(client, "ws-viewer", "wrong")
        page = log_in(client, "ws-viewer", PASSWORD)
        assert page.status_code == 429
        assert "1 second" in page.text
        time.sleep(1.1)
        assert log_in(client, "ws-viewer", PASSWORD).status_code == 302


def test_finding_7_axes_reset_lifts_a_lockout(client, ws_viewer):
    for _attempt in range(LIMIT):
        log_in(client, "ws-viewer", "wrong")
    call_command("axes_reset_username", "ws-viewer", stdout=io.StringIO())
    assert log_in(client, "ws-viewer", PASSWORD).status_code == 302


def test_finding_7_without_a_cool_off_the_lockout_lasts_until_reset(client, ws_viewer):
    with override_settings(AXES_COOLOFF_TIME=None):
        for _attempt in range(LIMIT):
            log_in(client, "ws-viewer", "wrong")
        page = log_in(client, "ws-viewer", PASSWORD)
        assert page.status_code == 429
        assert "until an Admin lifts the lockout" in page.text
        assert "Retry-After" not in page
        call_command("axes_reset", stdout=io.StringIO())
        assert log_in(client, "ws-viewer", PASSWORD).status_code == 302


def test_finding_7_a_successful_login_leaves_earlier_failures_counted(client, ws_viewer):
    # A reset on success would let a client with one valid login clear its address's count.
    log_in(client, "ws-viewer", "wrong")
    assert log_in(client, "ws-viewer", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _attempt in range(LIMIT - 1):
        log_in(client, "ws-viewer", "wrong")
    assert log_in(client, "ws-viewer", PASSWORD).status_code == 429


def test_finding_7_django_admins_login_is_locked_out_too(client, admin):
    for _attempt in range(LIMIT):
        client.post("/admin/login/", {"username": admin.username, "password": "wrong"})
    page = client.post("/admin/login/", {"username": admin.username, "password": PASSWORD})
    assert page.status_code == 429
    assert LOCKED_OUT in page.text
    assert client.get("/admin/").status_code == 302


# -- client addresses and proxies ------------------------------------------------------------


def test_finding_7_forwarded_for_is_ignored_without_a_trusted_proxy(client, ws_viewer):
    # Otherwise a client would dodge the count by sending a new X-Forwarded-For each time.
    for number in range(LIMIT):
        client.post(
            reverse("login"),
            {"username": "ws-viewer", "password": "wrong"},
            headers={"X-Forwarded-For": f"203.0.113.{number}"},
        )
    page = client.post(
        reverse("login"),
        {"username": "ws-viewer", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.99"},
    )
    assert page.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_finding_7_behind_a_trusted_proxy_the_forwarded_client_is_counted(client, ws_viewer):
    with override_settings(WHARF_TRUSTED_PROXIES=["127.0.0.0/8", "10.0.0.0/24"]):
        for _attempt in range(LIMIT):
            client.post(
                reverse("login"),
                {"username": "ws-viewer", "password": "wrong"},
                headers={"X-Forwarded-For": "203.0.113.5, 10.0.0.9"},
            )
        page = client.post(
            reverse("login"),
            {"username": "ws-viewer", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.5"},
        )
        assert page.status_code == 429
        assert lockouts().get().target_label == "ws-viewer from 203.0.113.5"
        # Another client behind the same proxy logs in; an entry the client wrote on the left
        # of the header changes nothing.
        page = client.post(
            reverse("login"),
            {"username": "ws-viewer", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.5, 203.0.113.6"},
        )
        assert page.status_code == 302


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("192.0.2.1", "203.0.113.5", "192.0.2.1"),  # not a trusted proxy: the header is ignored
        ("10.0.0.1", "203.0.113.5", "203.0.113.5"),
        ("10.0.0.1", "198.51.100.1, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        ("10.0.0.1", "", "10.0.0.1"),
        ("10.0.0.1", "garbage, 203.0.113.5", "203.0.113.5"),
        ("10.0.0.1", "203.0.113.5, garbage", "10.0.0.1"),
        ("10.0.0.1", "[2001:db8::5]:4711", "2001:db8::5"),
        ("10.0.0.1", "203.0.113.5:4711", "203.0.113.5"),
        ("::ffff:192.0.2.1", "", "192.0.2.1"),
        ("", "", None),
    ],
)
def test_client_address_believes_only_trusted_proxies(rf, remote, forwarded, expected):
    from portal.proxies import client_address

    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(WHARF_TRUSTED_PROXIES=["10.0.0.0/24"]):
        assert client_address(request) == expected


# -- the API: Basic and tokens ---------------------------------------------------------------


def test_finding_7_api_basic_auth_locks_out_after_repeated_wrong_passwords(db, ws_viewer):
    for _attempt in range(LIMIT - 1):
        assert api_as("ws-viewer", "wrong").get(API).status_code == 401
    response = api_as("ws-viewer", "wrong").get(API)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert LOCKED_OUT in response.json()["detail"]
    assert response["Retry-After"] == "900"

    response = api_as("ws-viewer", PASSWORD).get(API)
    assert response.status_code == 429
    assert LOCKED_OUT in response.json()["detail"]
    assert lockouts().get().after["path"] == API
    # Another address, or another user, is not locked out.
    assert api_as("ws-viewer", PASSWORD, ELSEWHERE).get(API).status_code == 200


def test_finding_7_api_basic_lockout_is_shared_with_the_login_page(client, db, ws_viewer):
    for _attempt in range(LIMIT):
        api_as("ws-viewer", "wrong").get(API)
    assert log_in(client, "ws-viewer", PASSWORD).status_code == 429


def test_finding_7_api_token_guessing_locks_out_the_address(db, ws_viewer):
    _token, key = api_tokens.issue(ws_viewer, "ci")
    guesser = APIClient()
    for number in range(LIMIT - 1):
        guesser.credentials(HTTP_AUTHORIZATION=f"Token guess-{number}")
        assert guesser.get(API).status_code == 401
    guesser.credentials(HTTP_AUTHORIZATION="Token guess-last")
    response = guesser.get(API)
    assert response.status_code == 429
    assert LOCKED_OUT in response.json()["detail"]

    # The right token from that address is refused; from another address it works.
    guesser.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert guesser.get(API).status_code == 429
    elsewhere = APIClient(REMOTE_ADDR=ELSEWHERE)
    elsewhere.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert elsewhere.get(API).status_code == 200

    event = lockouts().get()
    assert event.target_label == "API token from 127.0.0.1"
    assert event.after["username"] is None
    assert key not in str(event.after) and "guess" not in str(event.after)


def test_finding_7_an_expired_token_is_not_a_guess(db, ws_viewer):
    from django.utils import timezone

    _token, key = api_tokens.issue(ws_viewer, "old", expires=timezone.now() - timedelta(days=1))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    for _attempt in range(LIMIT + 1):
        assert api.get(API).status_code == 401
    assert not AccessAttempt.objects.exists()


def test_finding_7_a_successful_api_login_writes_nothing(db, ws_viewer):
    _token, key = api_tokens.issue(ws_viewer, "ci")
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    by_token.get(API)  # the token's last_used is written at most once a minute
    for api in (by_token, api_as("ws-viewer", PASSWORD)):
        with CaptureQueriesContext(connection) as queries:
            assert api.get(API).status_code == 200
        writes = [
            q["sql"]
            for q in queries
            if not q["sql"].lstrip().upper().startswith(("SELECT", "SAVEPOINT", "RELEASE"))
        ]
        assert writes == []


# -- finding 8: NUL in a Basic username ------------------------------------------------------


@pytest.mark.parametrize("username", ["ws-\x00viewer", "\x00", "x" * 151, "tab\there", ""])
def test_finding_8_nul_in_basic_username_api(db, ws_viewer, username):
    response = api_as(username, PASSWORD).get(API)
    assert response.status_code == 401
    assert "invalid characters" in response.json()["detail"]
    assert not AccessAttempt.objects.exists()


# -- configuration ---------------------------------------------------------------------------


def settings_value(expression, **env):
    """What the settings make of ``env``, read in a fresh interpreter as a server would."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("WHARF_LOGIN")}
    result = subprocess.run(
        [sys.executable, "-c", f"import portal.settings as s; print({expression})"],
        cwd=ROOT,
        env={**clean, "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_lockout_settings_come_from_the_environment():
    assert settings_value("(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME, s.AXES_LOCKOUT_PARAMETERS)") == (
        "(5, datetime.timedelta(seconds=900), [['username', 'ip_address']])"
    )
    assert settings_value(
        "(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME, s.AXES_LOCKOUT_PARAMETERS, s.WHARF_TRUSTED_PROXIES)",
        WHARF_LOGIN_FAILURE_LIMIT="10",
        WHARF_LOGIN_COOLOFF="0",
        WHARF_LOGIN_LOCKOUT_PARAMETERS="username+ip_address, ip_address",
        WHARF_TRUSTED_PROXIES="10.0.0.5,fd00::/8",
    ) == ("(10, None, [['username', 'ip_address'], 'ip_address'], ['10.0.0.5', 'fd00::/8'])")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WHARF_LOGIN_FAILURE_LIMIT": "0"}, "WHARF_LOGIN_FAILURE_LIMIT must be at least 1"),
        ({"WHARF_LOGIN_FAILURE_LIMIT": "five"}, "WHARF_LOGIN_FAILURE_LIMIT must be a whole number"),
        ({"WHARF_LOGIN_COOLOFF": "-1"}, "WHARF_LOGIN_COOLOFF must not be negative"),
        ({"WHARF_LOGIN_LOCKOUT_PARAMETERS": "user_agent"}, "WHARF_LOGIN_LOCKOUT_PARAMETERS must be"),
        ({"WHARF_LOGIN_LOCKOUT_PARAMETERS": "username+"}, "WHARF_LOGIN_LOCKOUT_PARAMETERS must be"),
        ({"WHARF_TRUSTED_PROXIES": "proxy.example.com"}, "WHARF_TRUSTED_PROXIES entries must be"),
    ],
)
def test_bad_lockout_settings_are_named_at_start(env, named):
    result = start_settings(DEBUG="1", **env)
    assert result.returncode != 0
    assert named in result.stderr

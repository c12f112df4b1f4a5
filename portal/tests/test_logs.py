"""Logs: JSON lines when asked for, the request id audit events carry, and never a secret."""

import base64
import io
import json
import logging
import subprocess
import sys

import pytest
import yaml
from django.conf import settings
from django.urls import reverse
from pythonjsonlogger.json import JsonFormatter

from conftest import PASSWORD
from portal.logs import RequestIdFilter
from portal.models import AuditEvent
from portal.tests.test_settings import ROOT, start_settings
from registries import services, tokens
from registries.kinds.harbor.tests.harbor_double import ADMIN_PASSWORD, ADMIN_USER
from registries.models import PullCredential, Registry, RegistrySpace
from workspaces.models import Cluster, Namespace

LOGGERS = ["", "django", "django.request", "wharf", "httpx", "httpcore"]


@pytest.fixture
def json_log():
    """Everything logged, at every level, formatted as WHARF_LOG_FORMAT=json formats it."""
    stream = io.StringIO()
    options = {key: value for key, value in settings.LOGGING["formatters"]["json"].items() if key != "()"}
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    root.addHandler(handler)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_format_is_chosen_by_the_setting():
    program = "import django; django.setup(); import logging; logging.getLogger('wharf.x').warning('hello')"
    env = {
        "DEBUG": "1",
        "WHARF_LOG_FORMAT": "json",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PATH": "/usr/bin:/bin",
    }
    run = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    record = json.loads(run.stderr.strip().splitlines()[-1])
    assert record == {
        "time": record["time"],
        "level": "WARNING",
        "logger": "wharf.x",
        "message": "hello",
        "request_id": "",
    }
    refused = start_settings(DEBUG="1", WHARF_LOG_FORMAT="xml")
    assert refused.returncode != 0
    assert "WHARF_LOG_FORMAT must be plain or json" in refused.stderr


@pytest.mark.integration
def test_a_whole_flow_logs_json_with_request_ids_and_no_secret(
    transactional_db, client, admin, ws_admin, workspace, harbor_double, json_log, settings
):
    # The test client stands in for a trusted proxy, so the request ids below are kept.
    settings.WHARF_TRUSTED_PROXIES = ["127.0.0.1"]
    harbor_double.add_repository("team-a", "app", tags=["1.0"])
    # The Admin logs in with a password and integrates a Harbor with its admin password.
    assert (
        client.post(reverse("login"), {"username": admin.username, "password": PASSWORD}).status_code == 302
    )
    response = client.post(
        "/api/v1/registries/",
        {
            "kind": "harbor",
            "name": "harbor-main",
            "url": harbor_double.url,
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "verify_tls": True,
            "ca_bundle": "",
        },
        content_type="application/json",
        headers={"X-Request-ID": "flow-create"},
    )
    assert response.status_code == 201, response.content
    harbor = Registry.objects.get(name="harbor-main")
    assert client.post(
        reverse("registries:sync", args=[harbor.pk]), headers={"X-Request-ID": "flow-sync"}
    ).status_code in {200, 302}
    # Binding a private space makes a robot account in Harbor, with a secret.
    space = RegistrySpace.objects.get(registry=harbor, name="team-a")
    response = client.post(
        reverse("registries:space-bindings", args=[harbor.pk, space.pk]),
        {"workspaces": [workspace.pk]},
        headers={"X-Request-ID": "flow-bind"},
    )
    assert response.status_code in {200, 302}
    robot_secret = PullCredential.objects.get(registry=harbor, workspace=workspace).get_secret()

    # A Docker Registry on Wharf's token service, bound too.
    tokens.create_signing_key()
    tok = Registry.objects.create(
        name="tok", kind="distribution", url="http://127.0.0.1:9", token_service=True
    )
    private = RegistrySpace.objects.create(registry=tok, name="priv", visibility="private")
    services.change_bindings(private, admin, add=[workspace])

    # A Workspace Admin downloads the namespace's pull secret.
    namespace = Namespace.objects.create(
        cluster=Cluster.objects.create(name="prod"), name="shop", workspace=workspace
    )
    client.force_login(ws_admin)
    response = client.post(
        reverse("workspaces:namespace-pull-secret", args=[namespace.pk]),
        headers={"X-Request-ID": "flow-secret"},
    )
    assert response.status_code == 200
    secret_data = yaml.safe_load(response.content)["data"][".dockerconfigjson"]
    auths = json.loads(base64.b64decode(secret_data))["auths"]
    ws_secret = next(entry["password"] for entry in auths.values() if entry["username"] == "ws-payments")

    # A kubelet pulls: a token is issued; a stale secret is refused (and that is logged).
    client.logout()
    basic = base64.b64encode(f"ws-payments:{ws_secret}".encode()).decode()
    response = client.get(
        "/auth/token",
        {"service": tok.token_service_id, "scope": "repository:priv/app:pull"},
        headers={"Authorization": f"Basic {basic}", "X-Request-ID": "flow-token"},
    )
    assert response.status_code == 200
    jwt_token = response.json()["token"]
    stale = "stale-secret-" + "x" * 30
    wrong = base64.b64encode(f"ws-payments:{stale}".encode()).decode()
    response = client.get(
        "/auth/token",
        {"service": tok.token_service_id, "scope": "repository:priv/app:pull"},
        headers={"Authorization": f"Basic {wrong}", "X-Request-ID": "flow-refused"},
    )
    assert response.status_code == 401

    records = lines(json_log)
    by_request = {}
    for record in records:
        by_request.setdefault(record["request_id"], []).append(record)
    # The sync and the robot's reconcile ran inside their requests; each line carries its id,
    # the same id the audit events of that request carry.
    assert any(r["logger"] == "wharf.sync" for r in by_request["flow-sync"])
    assert any(r["logger"] == "wharf.robots" for r in by_request["flow-bind"])
    assert AuditEvent.objects.filter(action="space.bind", request_id="flow-bind").exists()
    assert AuditEvent.objects.filter(action="registry.create", request_id="flow-create").exists()
    assert any("wrong credentials" in r["message"] for r in by_request["flow-refused"])

    text = json_log.getvalue()
    secrets = {
        "Harbor admin password": ADMIN_PASSWORD,
        "login password": PASSWORD,
        "robot secret": robot_secret,
        "workspace pull secret": ws_secret,
        "registry token": jwt_token,
        "Basic credentials": basic,
        "stale secret": stale,
        "stale Basic credentials": wrong,
        "dockerconfigjson": secret_data,
        "session id": client.cookies.get("sessionid").value if client.cookies.get("sessionid") else None,
    }
    leaked = [name for name, secret in secrets.items() if secret and secret in text]
    assert not leaked, f"secrets in the logs: {leaked}"
    assert len(records) >= 5

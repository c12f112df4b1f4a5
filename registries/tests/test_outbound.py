"""Wharf's calls to registries: where they may go, how long they may take, what failures say.

Regression tests for findings 1, 2, 4, 9 and 11 of the attack run (issue 9). The registries here
are small real HTTP servers on loopback aliases. Unless a test says otherwise the address rule
allows only 127.0.0.2/32: a server there plays a workspace's registry out on the internet, and a
server on 127.0.0.1 plays an internal service, which must receive nothing at all (not even a TCP
connection, let alone a password).
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import IntegrityError
from django.urls import reverse
from rest_framework.test import APIClient

from portal.models import AuditEvent
from registries import addresses
from registries.addresses import refused_reason
from registries.clients import AddressRefused, BadAnswer, Connection, Deadline, RegistryTimeout
from registries.kinds.distribution.client import DistributionClient
from registries.models import Registry, RegistrySpace, SyncRun
from registries.sync import sync_registry
from registries.tests.real_registry import Certificate, make_certificate

PASSWORD = "s3cret-Registry-Pa55"
OUTSIDE = "127.0.0.2"  # allowed: plays a registry on the internet
INSIDE = "127.0.0.1"  # not allowed: plays an internal service
GENERIC = "Could not connect to the registry."
REGISTRY_HEADERS = {"Content-Type": "application/json", "Docker-Distribution-API-Version": "registry/2.0"}


# -- real servers on loopback ----------------------------------------------------------------


@dataclass
class Seen:
    path: str
    authorization: str


@dataclass
class Server:
    """One HTTP server; ``answer(handler)`` writes the whole response."""

    host: str
    answer: Callable[[BaseHTTPRequestHandler], None]
    https: Certificate | None = None
    connections: int = 0
    requests: list[Seen] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def origin(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}"

    @property
    def passwords_seen(self) -> list[str]:
        return [seen.authorization for seen in self.requests if seen.authorization]


@pytest.fixture
def serve(tmp_path) -> Iterator[Callable[..., Server]]:
    running: list[tuple[Server, ThreadingHTTPServer]] = []

    def start(host: str, answer: Callable[[BaseHTTPRequestHandler], None], *, https: bool = False) -> Server:
        record = Server(host, answer)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                record.requests.append(Seen(self.path, self.headers.get("Authorization", "")))
                record.answer(self)

            def log_message(self, *args):
                pass

        class Counting(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                accepted = super().get_request()
                record.connections += 1
                return accepted

        server = Counting((host, 0), Handler)
        server.record = record
        if https:
            record.https = make_certificate(host, ip=host)
            cert, key = record.https.write(tmp_path, f"{host}-{len(running)}")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        record.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        running.append((record, server))
        return record

    yield start
    for record, server in running:
        record.stop.set()
        server.shutdown()
        server.server_close()


def reply(
    handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str] | None = None, body: bytes = b""
) -> None:
    handler.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def registry_answer(catalog: list[str]) -> Callable[[BaseHTTPRequestHandler], None]:
    """A Docker registry without authentication that lists ``catalog``."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        if handler.path.startswith("/v2/_catalog"):
            reply(handler, 200, REGISTRY_HEADERS, json.dumps({"repositories": catalog}).encode())
        elif handler.path.startswith("/v2/") and "/tags/list" in handler.path:
            reply(handler, 200, REGISTRY_HEADERS, json.dumps({"name": "x", "tags": []}).encode())
        else:
            reply(handler, 200, REGISTRY_HEADERS, b"{}")

    return answer


def redirect_to(target: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        reply(handler, 302, {"Location": target + handler.path})

    return answer


def dribble(handler: BaseHTTPRequestHandler) -> None:
    """Headers at once, then the promised body one byte every 0.1 s, each byte well within any
    per-call timeout: only a deadline for the whole operation ends this."""
    handler.send_response(200)
    for name, value in {**REGISTRY_HEADERS, "Content-Length": "100000"}.items():
        handler.send_header(name, value)
    handler.end_headers()
    stop = handler.server.record.stop
    for _ in range(600):
        if stop.is_set():
            return
        try:
            handler.wfile.write(b" ")
            handler.wfile.flush()
        except OSError:
            return
        time.sleep(0.1)


@pytest.fixture
def rule(settings):
    """The address rule allows the outside registry's address and nothing internal."""
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = [f"{OUTSIDE}/32"]
    return settings


@pytest.fixture
def api():
    return APIClient()


def workspace_registries(workspace) -> str:
    return f"/api/v1/workspaces/{workspace.pk}/registries/"


def new_registry(url: str, **overrides) -> dict:
    return {
        "kind": "distribution",
        "name": "team-registry",
        "url": url,
        "username": "team-robot",
        "password": PASSWORD,
        "verify_tls": True,
        "ca_bundle": "",
        **overrides,
    }


def error_text(response) -> str:
    return json.dumps(response.json(), ensure_ascii=False)


def refused_nothing_saved(response) -> None:
    assert response.status_code == 400, response.content
    assert not Registry.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="registry.").exists()


# -- finding 1: redirects ---------------------------------------------------------------------


@pytest.mark.parametrize("internal_host", [INSIDE, "localhost", "[::ffff:127.0.0.1]", "[2002:7f00:1::]"])
def test_finding_1_ssrf_redirect_to_loopback_refused(serve, rule, api, ws_admin, workspace, internal_host):
    internal = serve(INSIDE, registry_answer(["internal/secret-service"]))
    outside = serve(OUTSIDE, redirect_to(f"http://{internal_host}:{internal.port}"))
    api.force_login(ws_admin)

    response = api.post(workspace_registries(workspace), new_registry(outside.origin), format="json")

    refused_nothing_saved(response)
    assert "redirected to" in error_text(response)
    assert "which workspace registries may not use" in error_text(response)
    assert outside.requests  # the registry was asked...
    assert internal.connections == 0  # ...and the internal service never even saw a connection
    assert PASSWORD not in error_text(response)


def test_finding_1_ssrf_redirect_refused_on_the_page_too(serve, rule, client, ws_admin, workspace):
    internal = serve(INSIDE, registry_answer(["internal/secret-service"]))
    outside = serve(OUTSIDE, redirect_to(internal.origin))
    client.force_login(ws_admin)

    response = client.post(
        reverse("registries:workspace-create") + f"?workspace={workspace.pk}",
        {**new_registry(outside.origin), "verify_tls": "on"},
    )

    assert response.status_code == 200
    assert "redirected to 127.0.0.1, which Wharf may not contact" in response.text
    assert not Registry.objects.exists()
    assert internal.connections == 0


def test_finding_1_sync_never_shows_an_internal_catalog(serve, rule, workspace):
    """A registry that passed its check and starts redirecting later: sync refuses the hop."""
    internal = serve(INSIDE, registry_answer(["internal/secret-service"]))
    outside = serve(OUTSIDE, redirect_to(internal.origin))
    registry = Registry.objects.create(
        name="team-registry", kind="distribution", url=outside.origin, scope="workspace", workspace=workspace
    )

    run = sync_registry(registry)

    assert run.result == SyncRun.Result.FAILED
    assert "which workspace registries may not use" in run.error
    assert not RegistrySpace.objects.filter(name="internal").exists()
    assert internal.connections == 0
    registry.refresh_from_db()
    assert registry.status == Registry.Status.UNHEALTHY


def test_finding_1_platform_registries_may_still_be_redirected_inside(serve, rule, workspace):
    """Admins integrate internal registries: the rule is for workspace registries only."""
    internal = serve(INSIDE, registry_answer(["library/alpine"]))
    outside = serve(OUTSIDE, redirect_to(internal.origin))
    registry = Registry.objects.create(name="platform-registry", kind="distribution", url=outside.origin)

    run = sync_registry(registry)

    assert run.result == SyncRun.Result.SUCCEEDED, run.error
    assert internal.requests


def test_finding_1_dns_rebinding_connects_only_to_the_checked_address(serve, monkeypatch):
    """A name that answers an allowed address, then an internal one (DNS rebinding): each
    connection goes to the address its own lookup returned and the rule approved; no second
    lookup can swap it. The resolver is the only stand-in here; HTTP is real."""
    internal = serve(INSIDE, registry_answer(["internal/secret-service"]))
    outside = serve(OUTSIDE, registry_answer(["team/app"]))
    real_getaddrinfo = socket.getaddrinfo
    answers: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host != "registry.rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        answers.append(OUTSIDE if len(answers) % 2 == 0 else INSIDE)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[-1], port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    connection = Connection(
        f"http://registry.rebind.test:{outside.port}", address_policy=addresses.policy([f"{OUTSIDE}/32"])
    )

    with DistributionClient(connection) as client, pytest.raises(AddressRefused) as refused:
        # /v2/ on the first connection (lookup: 127.0.0.2); http.server closes it, so the
        # catalog needs a second connection, whose lookup answers 127.0.0.1.
        client.check()

    assert answers == [OUTSIDE, INSIDE]
    assert [seen.path for seen in outside.requests] == ["/v2/"]
    assert internal.connections == 0
    assert "127.0.0.1, a loopback address" in str(refused.value)


# -- finding 2: the Bearer realm --------------------------------------------------------------


def bearer_challenge(realm: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("Authorization", "").startswith("Bearer good-token"):
            registry_answer(["team/app"])(handler)
            return
        challenge = f'Bearer realm="{realm}",service="team-registry"'
        reply(
            handler,
            401,
            {**REGISTRY_HEADERS, "WWW-Authenticate": challenge},
            b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
        )

    return answer


def token_server(handler: BaseHTTPRequestHandler) -> None:
    reply(
        handler,
        200,
        {"Content-Type": "application/json"},
        json.dumps({"token": "good-token", "expires_in": 300}).encode(),
    )


def test_finding_2_ssrf_bearer_realm_on_loopback_gets_no_password(serve, rule, api, ws_admin, workspace):
    internal = serve(INSIDE, token_server)
    outside = serve(OUTSIDE, bearer_challenge(f"{internal.origin}/token"))
    api.force_login(ws_admin)

    response = api.post(workspace_registries(workspace), new_registry(outside.origin), format="json")

    refused_nothing_saved(response)
    assert f"names a token server at 127.0.0.1:{internal.port} that Wharf may not contact" in error_text(
        response
    )
    assert internal.connections == 0
    assert internal.passwords_seen == []
    assert PASSWORD not in error_text(response)


def test_finding_2_a_realm_the_rule_allows_gets_the_credentials(serve, rule, api, ws_admin, workspace):
    """The counterpart: a token server on an allowed address is used as before."""
    tokens = serve(OUTSIDE, token_server)
    outside = serve(OUTSIDE, bearer_challenge(f"{tokens.origin}/token"))
    api.force_login(ws_admin)

    response = api.post(workspace_registries(workspace), new_registry(outside.origin), format="json")

    assert response.status_code == 201, response.content
    assert tokens.passwords_seen and all(seen.startswith("Basic ") for seen in tokens.passwords_seen)


def test_finding_2_an_https_registry_never_sends_credentials_to_a_plain_http_realm(serve):
    tokens = serve(OUTSIDE, token_server)
    registry = serve(OUTSIDE, bearer_challenge(f"{tokens.origin}/token"), https=True)
    connection = Connection(registry.origin, "team-robot", PASSWORD, ca_pem=registry.https.cert_pem)

    with DistributionClient(connection) as client, pytest.raises(BadAnswer) as refused:
        client.check()

    assert "only over https" in str(refused.value)
    assert tokens.connections == 0


def test_finding_2_platform_registries_may_use_an_internal_token_server(serve, rule, workspace):
    tokens = serve(INSIDE, token_server)
    outside = serve(OUTSIDE, bearer_challenge(f"{tokens.origin}/token"))
    registry = Registry(
        name="platform-registry", kind="distribution", url=outside.origin, username="team-robot"
    )
    registry.set_password(PASSWORD)
    registry.save()

    run = sync_registry(registry)

    assert run.result == SyncRun.Result.SUCCEEDED, run.error
    assert tokens.passwords_seen


# -- finding 4: credentials in a registry URL -------------------------------------------------

USERINFO_URL = "https://robot:hunter22@registry.example.com"


def test_finding_4_credentials_in_a_registry_url_refused_on_the_page(client, admin):
    client.force_login(admin)
    response = client.post(
        reverse("registries:create"),
        {"kind": "distribution", "name": "with-userinfo", "url": USERINFO_URL, "verify_tls": "on"},
    )

    assert response.status_code == 200
    assert "may not contain a user name or password" in response.text
    # Only the Admin's own input is shown back to them; nothing was stored or audited.
    assert not Registry.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("who", ["admin", "ws_admin"])
def test_finding_4_credentials_in_a_registry_url_refused_by_the_api(api, request, who, workspace, rule):
    api.force_login(request.getfixturevalue(who))
    path = "/api/v1/registries/" if who == "admin" else workspace_registries(workspace)

    response = api.post(path, new_registry(USERINFO_URL), format="json")

    refused_nothing_saved(response)
    assert list(response.json()) == ["url"]
    assert "may not contain a user name or password" in response.json()["url"][0]
    assert "hunter22" not in error_text(response)


def test_finding_4_an_existing_registry_cannot_be_edited_to_carry_credentials(api, admin, db):
    registry = Registry.objects.create(
        name="demo", kind="distribution", url="https://r.example.com", is_demo=True
    )
    api.force_login(admin)

    response = api.patch(f"/api/v1/registries/{registry.pk}/", {"url": USERINFO_URL}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["url"]
    registry.refresh_from_db()
    assert registry.url == "https://r.example.com"


def test_finding_4_the_database_refuses_credentials_in_a_registry_url(db):
    with pytest.raises(IntegrityError):
        Registry.objects.create(name="sneaky", kind="distribution", url=USERINFO_URL, is_demo=True)


# -- finding 9: one deadline for a request's calls to a registry ------------------------------


@pytest.fixture
def deadline(settings):
    """A short deadline, with a per-call timeout far longer, so only the deadline can end it."""
    settings.WHARF_REGISTRY_DEADLINE = 2
    settings.WHARF_REGISTRY_TIMEOUT = 10
    return 2


@pytest.mark.parametrize("kind", ["distribution", "harbor"])
def test_finding_9_slow_registry_check_ends_within_the_deadline(serve, deadline, api, admin, kind):
    slow = serve(INSIDE, dribble)
    api.force_login(admin)

    started = time.monotonic()
    response = api.post("/api/v1/registries/", new_registry(slow.origin, kind=kind), format="json")
    elapsed = time.monotonic() - started

    refused_nothing_saved(response)
    assert elapsed < deadline + 1.5
    assert "did not finish answering within 2 seconds" in error_text(response)


def test_finding_9_redirect_loop_ends_within_the_deadline(
    serve, deadline, settings, client, ws_admin, workspace, caplog
):
    """Each hop answers just in time, and there are more hops than the deadline allows."""
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = ["127.0.0.0/8"]

    def slow_hop(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(0.6)
        reply(handler, 302, {"Location": f"/v2/hop{len(loop.requests)}/"})

    loop = serve(OUTSIDE, slow_hop)
    client.force_login(ws_admin)

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="wharf.registries"):
        response = client.post(
            reverse("registries:workspace-create") + f"?workspace={workspace.pk}",
            {**new_registry(loop.origin), "verify_tls": "on"},
        )
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed < deadline + 1.5
    assert GENERIC in response.text
    assert not Registry.objects.exists()
    assert "did not finish answering within 2 seconds" in caplog.text


def test_finding_9_a_name_server_that_never_answers_ends_within_the_deadline(monkeypatch):
    real_getaddrinfo = socket.getaddrinfo

    def silent_name_server(host, *args, **kwargs):
        if host == "slow-dns.test":
            time.sleep(5)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", silent_name_server)
    connection = Connection("http://slow-dns.test", timeout=10, deadline=Deadline.start(1))

    started = time.monotonic()
    with DistributionClient(connection) as client, pytest.raises(RegistryTimeout) as caught:
        client.check()

    assert time.monotonic() - started < 2
    assert "did not finish answering within 1 second," in str(caught.value)


def test_finding_9_sync_is_background_work_and_has_no_deadline(serve, deadline, db):
    """Long work stays in tasks: a sync slower than the request deadline still completes."""

    def slow_registry(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(0.8)
        registry_answer(["team/app", "team/tool", "other/app"])(handler)

    slow = serve(INSIDE, slow_registry)
    registry = Registry.objects.create(name="platform-registry", kind="distribution", url=slow.origin)

    run = sync_registry(registry)

    assert run.result == SyncRun.Result.SUCCEEDED, run.error
    assert run.finished - run.started > timedelta(seconds=deadline)


# -- finding 11: internal ranges and the port-scan oracle -------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://10.1.2.3", "a private network address"),
        ("http://172.16.5.4:5000", "a private network address"),
        ("http://192.168.1.10", "a private network address"),
        ("http://100.64.0.7", "a shared (carrier-grade NAT) address"),
        ("http://[fc00::1]", "a private network address"),
        ("http://[fd12:3456::1]", "a private network address"),
        ("http://[fe80::1]", "a link-local address"),
        ("http://[::ffff:127.0.0.1]", "a loopback address in IPv4-mapped form (127.0.0.1)"),
        ("http://[::ffff:10.0.0.1]", "a private network address in IPv4-mapped form (10.0.0.1)"),
        ("http://[2002:7f00:1::]", "a loopback address in 6to4 form (127.0.0.1)"),
        ("http://[64:ff9b::a00:1]", "a private network address in NAT64 form (10.0.0.1)"),
        ("http://[64:ff9b::7f00:1]", "a loopback address in NAT64 form (127.0.0.1)"),
        ("http://0.0.0.0:5000", "a loopback address"),
        ("http://[::]:5000", "a loopback address"),
        ("http://169.254.169.254", "a link-local address"),
        ("http://100.100.100.200", "a cloud metadata address"),
        ("http://224.0.0.1", "a multicast address"),
        ("http://192.0.2.10", "a reserved address"),
    ],
)
def test_finding_11_internal_ranges_refused_for_workspace_registries(url, kind):
    reason = refused_reason(url, [])
    assert reason is not None and kind in reason
    assert "WHARF_ALLOWED_REGISTRY_NETWORKS" in reason


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.215.14",
        "https://[2606:4700::6810:84e5]",
        "https://[64:ff9b::5db8:d70e]",
        "https://[::ffff:93.184.215.14]",
    ],
)
def test_finding_11_public_addresses_pass_in_every_form(url):
    """NAT64 of a public address is how an IPv6-only cluster reaches a public registry."""
    assert refused_reason(url, []) is None


def test_finding_11_the_operator_can_allow_a_private_range(api, ws_admin, workspace, settings):
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = []
    api.force_login(ws_admin)
    refused = api.post(
        workspace_registries(workspace), new_registry("http://10.1.2.3:9", name="refused"), format="json"
    )
    assert refused.status_code == 400
    assert "a private network address" in refused.json()["url"][0]

    assert refused_reason("http://10.1.2.3:9", ["10.0.0.0/8"]) is None
    assert refused_reason("http://[::ffff:10.1.2.3]:9", ["10.0.0.0/8"]) is None


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind((INSIDE, 0))
        return probe.getsockname()[1]


def failure_urls(serve) -> dict[str, str]:
    """One workspace registry URL per way of failing that a port scan would tell apart."""

    def not_found(handler):
        reply(handler, 404, {"Content-Type": "text/plain"}, b"404 page not found")

    def web_page(handler):
        reply(handler, 200, {"Content-Type": "text/html"}, b"<html>intranet</html>")

    def silent(handler):
        serving.stop.wait(5)

    serving = serve(INSIDE, silent)
    return {
        "refused": f"http://{INSIDE}:{closed_port()}",
        "timeout": serving.origin,
        "http 404": serve(INSIDE, not_found).origin,
        "not a registry": serve(INSIDE, web_page).origin,
        "tls": "https://" + serve(INSIDE, web_page).origin.removeprefix("http://"),
    }


def test_finding_11_workspace_admins_get_one_message_for_every_connection_failure(
    serve, settings, api, ws_admin, workspace, caplog
):
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = ["127.0.0.0/8"]
    settings.WHARF_REGISTRY_TIMEOUT = 1
    api.force_login(ws_admin)

    answers = {}
    with caplog.at_level(logging.WARNING, logger="wharf.registries"):
        for failure, url in failure_urls(serve).items():
            response = api.post(workspace_registries(workspace), new_registry(url), format="json")
            assert response.status_code == 400, failure
            answers[failure] = response.json()

    assert all(answer == {"non_field_errors": [GENERIC]} for answer in answers.values()), answers
    assert not Registry.objects.exists()
    # The detail is in the log, for the operator.
    for detail in ("Cannot connect", "did not answer within 1 second", "HTTP 404", "TLS"):
        assert detail in caplog.text


def test_finding_11_admins_get_the_detail(serve, settings, api, admin):
    settings.WHARF_REGISTRY_TIMEOUT = 1
    api.force_login(admin)

    answers = {
        failure: error_text(api.post("/api/v1/registries/", new_registry(url), format="json"))
        for failure, url in failure_urls(serve).items()
    }

    assert len(set(answers.values())) == len(answers)
    assert GENERIC not in " ".join(answers.values())


def test_finding_11_a_workspace_registrys_sync_status_tells_members_nothing_more(
    settings, workspace, client, ws_viewer
):
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = ["127.0.0.0/8"]
    registry = Registry.objects.create(
        name="team-registry",
        kind="distribution",
        url=f"http://{INSIDE}:{closed_port()}",
        scope="workspace",
        workspace=workspace,
    )

    run = sync_registry(registry)

    registry.refresh_from_db()
    assert (registry.status_message, registry.last_sync_error) == (GENERIC, GENERIC)
    assert "connection refused" in run.error  # the run (log, Admins) keeps the detail
    client.force_login(ws_viewer)
    page = client.get(reverse("registries:workspace-detail", args=[registry.pk]))
    assert GENERIC in page.text
    assert "refused" not in page.text

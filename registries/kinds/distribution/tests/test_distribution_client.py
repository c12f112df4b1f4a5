"""The distribution client against Debian's real docker-registry (and a few bad servers)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from registries.clients.base import (
    AuthenticationFailed,
    BadAnswer,
    Connection,
    Forbidden,
    NotFound,
    RateLimited,
    RegistryError,
    RegistryTimeout,
    TLSFailure,
    Unreachable,
)
from registries.kinds.distribution.client import DistributionClient
from registries.tests.real_registry import htpasswd_line, make_certificate, require_binary

pytestmark = pytest.mark.integration

PASSWORD = "pa55-Wörd-never-shown"


def client_for(url: str, username: str = "", password: str = "", **options) -> DistributionClient:
    page_size = options.pop("page_size", 100)
    return DistributionClient(Connection(url, username, password, **options), page_size=page_size)


def raised(action: Callable[[], object]) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        action()
    return caught.value


def assert_secret_kept(error: RegistryError) -> None:
    for text in (str(error), error.message, repr(error), *map(str, error.args)):
        assert PASSWORD not in text


# -- small servers that are not registries ---------------------------------------------------

Answer = tuple[int, dict[str, str], bytes]


@pytest.fixture
def fake_server() -> Iterator[Callable[[Callable[[str], Answer]], str]]:
    """Serve ``answer(path) -> (status, headers, body)`` on a loopback port; returns the URL."""
    servers: list[ThreadingHTTPServer] = []

    def serve(answer: Callable[[str], Answer]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                status, headers, body = answer(self.path)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def registry_json(status: int, body: object, **headers: str) -> Answer:
    return (
        status,
        {
            "Content-Type": "application/json",
            "Docker-Distribution-API-Version": "registry/2.0",
            **headers,
        },
        json.dumps(body).encode(),
    )


# -- listing ---------------------------------------------------------------------------------


def test_lists_spaces_from_first_path_segment(populated_registry):
    with client_for(populated_registry.url) as client:
        spaces = {space.name: space for space in client.iter_spaces()}

    assert sorted(spaces) == ["library", "team-a", "team-b"]
    # team-a/tools/cli is nested, but still in team-a.
    assert {name: space.repository_count for name, space in spaces.items()} == {
        "library": 1,
        "team-a": 2,
        "team-b": 2,
    }
    assert all(space.public for space in spaces.values())


def test_name_without_slash_is_in_library(populated_registry):
    with client_for(populated_registry.url) as client:
        library = list(client.iter_repositories("library"))
        team_a = list(client.iter_repositories("team-a"))

    assert [(repo.space, repo.name) for repo in library] == [("library", "alpine")]
    assert [repo.name for repo in team_a] == ["team-a/api", "team-a/tools/cli"]


def test_catalog_pagination_follows_link(populated_registry):
    with client_for(populated_registry.url, page_size=2) as client:
        catalog_requests = []
        client._http.event_hooks["request"].append(
            lambda request: (
                catalog_requests.append(request.url) if request.url.path == "/v2/_catalog" else None
            )
        )
        names = [repo.name for repo in client.iter_repositories()]

    assert names == ["alpine", "team-a/api", "team-a/tools/cli", "team-b/multi", "team-b/web"]
    # 5 names, 2 per page: three pages, the later ones asked for by the Link header.
    assert len(catalog_requests) == 3
    assert [url.params.get("last") for url in catalog_requests] == [
        None,
        "team-a/api",
        "team-b/multi",
    ]


def test_tags_carry_digest_size_and_platform(populated_registry):
    pushed = populated_registry.pushed
    with client_for(populated_registry.url) as client:
        tags = {tag.name: tag for tag in client.iter_tags("team-a/api")}

    assert sorted(tags) == ["1.0", "1.1"]
    for name, tag in tags.items():
        image = pushed[f"team-a/api:{name}"]
        assert tag.digest == image.digest
        assert tag.size == image.size
        assert tag.platforms == ("linux/amd64",)
        # distribution keeps no push time: the image's build time stands in for it.
        assert tag.pushed == image.created


def test_multi_platform_index_lists_platforms(populated_registry):
    image = populated_registry.pushed["team-b/multi:1.0"]
    with client_for(populated_registry.url) as client:
        (tag,) = client.iter_tags("team-b/multi")

    assert tag.name == "1.0"
    assert tag.digest == image.digest
    assert tag.platforms == ("linux/amd64", "linux/arm64")
    # The sum of both platforms' images, not the size of the index document.
    assert tag.size == image.size
    assert tag.pushed == image.created


def test_repository_whose_tags_are_all_deleted_yields_nothing(populated_registry):
    digest = populated_registry.pushed["team-b/web:2.0"].digest
    deleted = httpx.delete(f"{populated_registry.url}/v2/team-b/web/manifests/{digest}")
    assert deleted.status_code == 202

    with client_for(populated_registry.url) as client:
        assert list(client.iter_tags("team-b/web")) == []


def test_unknown_repository_is_not_found(populated_registry):
    with client_for(populated_registry.url) as client:
        error = raised(lambda: list(client.iter_tags("team-a/nothing-here")))

    assert isinstance(error, NotFound)
    assert "NAME_UNKNOWN" in error.message


def test_spaces_exist_only_in_wharf(real_registry):
    with client_for(real_registry.url) as client:
        created = client.create_space("team-z", public=False)
        client.set_space_visibility("team-z", public=True)
        client.delete_space("team-z")

        assert (created.name, created.public) == ("team-z", False)
        assert list(client.iter_spaces()) == []


# -- failures --------------------------------------------------------------------------------


def test_stopped_registry_is_unreachable(populated_registry):
    with client_for(populated_registry.url, "someone", PASSWORD, page_size=1) as client:
        client.check()
        names = client.iter_repositories()
        assert next(names).name == "alpine"

        populated_registry.stop()
        mid_walk = raised(lambda: next(names))
        afterwards = raised(client.check)

        populated_registry.start()
        assert client.check().version == "registry/2.0"

    for error in (mid_walk, afterwards):
        assert isinstance(error, Unreachable)
        assert not isinstance(error, RegistryTimeout)
        assert populated_registry.host in error.message
        assert_secret_kept(error)


def test_html_page_is_not_a_registry(fake_server):
    url = fake_server(lambda path: (200, {"Content-Type": "text/html"}, b"<html>Hi</html>"))

    with client_for(url) as client:
        error = raised(client.check)

    assert isinstance(error, BadAnswer)
    assert "does not look like a Docker registry" in error.message
    assert "text/html" in error.message


def test_hanging_registry_times_out():
    with socket.socket() as listener:
        # The kernel completes the handshake; nobody ever accepts, reads or answers.
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"

        started = time.monotonic()
        with client_for(url, "someone", PASSWORD, timeout=1.0) as client:
            error = raised(client.check)
        elapsed = time.monotonic() - started

    assert isinstance(error, RegistryTimeout)
    assert error.message.endswith("did not answer within 1 second")
    assert elapsed < 5
    assert_secret_kept(error)


def test_server_error_carries_the_registrys_message(fake_server):
    def answer(path: str) -> Answer:
        if path.startswith("/v2/_catalog"):
            return registry_json(503, {"errors": [{"code": "UNAVAILABLE", "message": "disk"}]})
        return registry_json(200, {})

    with client_for(fake_server(answer)) as client:
        error = raised(client.check)

    assert isinstance(error, BadAnswer)
    assert "HTTP 503: UNAVAILABLE disk" in error.message


def test_rate_limit_and_broken_json_are_named(fake_server):
    def answer(path: str) -> Answer:
        if path.startswith("/v2/_catalog"):
            return registry_json(429, {"errors": []}, **{"Retry-After": "30"})
        if path.startswith("/v2/team/app/tags/list"):
            return 200, {"Content-Type": "application/json"}, b"{not json"
        return registry_json(200, {})

    with client_for(fake_server(answer)) as client:
        limited = raised(lambda: list(client.iter_spaces()))
        broken = raised(lambda: list(client.iter_tags("team/app")))

    assert isinstance(limited, RateLimited)
    assert "try again in 30 seconds" in limited.message
    assert isinstance(broken, BadAnswer)
    assert "not valid JSON" in broken.message


def test_self_signed_registry_needs_its_certificate(registry_factory):
    certificate = make_certificate("wharf test registry", ip="127.0.0.1")
    registry = registry_factory(tls=certificate)

    with client_for(registry.url) as client:
        error = raised(client.check)
    assert isinstance(error, TLSFailure)
    assert "certificate" in error.message

    with client_for(registry.url, ca_pem=certificate.cert_pem) as client:
        assert client.check().version == "registry/2.0"
    with client_for(registry.url, verify_tls=False) as client:
        assert client.check().version == "registry/2.0"


# -- authentication --------------------------------------------------------------------------


def test_htpasswd_registry_refuses_wrong_password(registry_factory, oci_images, tmp_path):
    entry = htpasswd_line("alice", PASSWORD)
    if entry is None:
        pytest.skip("this libcrypt cannot make bcrypt hashes")
    (tmp_path / "htpasswd").write_text(entry + "\n")
    registry = registry_factory(
        auth={"htpasswd": {"realm": "wharf-test", "path": str(tmp_path / "htpasswd")}}
    )
    registry.push(oci_images["team-a/api:1.0"], "team-a/api:1.0", creds=f"alice:{PASSWORD}")

    with client_for(registry.url, "alice", PASSWORD) as client:
        assert client.check().username == "alice"
        assert [tag.name for tag in client.iter_tags("team-a/api")] == ["1.0"]

    with client_for(registry.url, "alice", PASSWORD + "x") as client:
        wrong = raised(client.check)
    with client_for(registry.url) as client:
        anonymous = raised(client.check)

    assert isinstance(wrong, AuthenticationFailed)
    assert "refused the credentials of user 'alice'" in wrong.message
    assert isinstance(anonymous, AuthenticationFailed)
    assert "asks for credentials and none are set" in anonymous.message
    assert_secret_kept(wrong)


def test_bearer_token_challenge_is_followed(registry_factory, token_server, oci_images):
    token_server.users["bob"] = PASSWORD
    registry = registry_factory(auth=token_server.auth_config())
    for ref in ("team-a/api:1.0", "team-a/api:1.1", "team-b/web:2.0"):
        registry.push(oci_images[ref], ref, creds=f"bob:{PASSWORD}")
    token_server.requests.clear()

    with client_for(registry.url, "bob", PASSWORD) as client:
        client.check()
        spaces = [space.name for space in client.iter_spaces()]
        tags = {
            repo.name: sorted(tag.name for tag in client.iter_tags(repo.name))
            for repo in client.iter_repositories()
        }

    assert spaces == ["team-a", "team-b"]
    assert tags == {"team-a/api": ["1.0", "1.1"], "team-b/web": ["2.0"]}
    asked = [request.scopes for request in token_server.requests]
    # One token per scope, reused for every request that needs it (manifests, configs).
    assert asked == [
        (),
        ("registry:catalog:*",),
        ("repository:team-a/api:pull",),
        ("repository:team-b/web:pull",),
    ]
    assert {request.account for request in token_server.requests} == {"bob"}
    assert {request.service for request in token_server.requests} == {token_server.service}


def test_token_server_refusing_the_password_is_an_auth_failure(registry_factory, token_server):
    token_server.users["bob"] = PASSWORD
    registry = registry_factory(auth=token_server.auth_config())

    with client_for(registry.url, "bob", "not-" + PASSWORD) as client:
        error = raised(client.check)

    assert isinstance(error, AuthenticationFailed)
    assert error.message.startswith("The token server at 127.0.0.1:")
    assert "refused the credentials of user 'bob'" in error.message
    assert_secret_kept(error)


def test_token_without_access_is_forbidden(registry_factory, token_server, oci_images):
    token_server.users["bob"] = PASSWORD
    registry = registry_factory(auth=token_server.auth_config())
    registry.push(oci_images["team-a/api:1.0"], "team-a/api:1.0", creds=f"bob:{PASSWORD}")
    token_server.grant = lambda user, kind, name, actions: [] if name == "team-a/api" else actions

    with client_for(registry.url, "bob", PASSWORD) as client:
        assert [repo.name for repo in client.iter_repositories()] == ["team-a/api"]
        error = raised(lambda: list(client.iter_tags("team-a/api")))

    assert isinstance(error, Forbidden)
    assert "does not let user 'bob' read repository team-a/api" in error.message


def test_expired_token_is_renewed(registry_factory, token_server, oci_images):
    token_server.users["bob"] = PASSWORD
    token_server.lifetime = 2  # kept for 1 s: renewed a little before the registry's deadline
    registry = registry_factory(auth=token_server.auth_config())
    registry.push(oci_images["team-a/api:1.0"], "team-a/api:1.0", creds=f"bob:{PASSWORD}")
    token_server.requests.clear()

    with client_for(registry.url, "bob", PASSWORD) as client:
        assert [tag.name for tag in client.iter_tags("team-a/api")] == ["1.0"]
        assert [tag.name for tag in client.iter_tags("team-a/api")] == ["1.0"]
        time.sleep(1.1)
        assert [tag.name for tag in client.iter_tags("team-a/api")] == ["1.0"]

    scopes = [request.scopes for request in token_server.requests]
    assert scopes == [("repository:team-a/api:pull",)] * 2


# -- the fixtures themselves -----------------------------------------------------------------


def test_missing_binary_skips_unless_integration_is_required(monkeypatch):
    monkeypatch.delenv("WHARF_REQUIRE_INTEGRATION", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_binary("wharf-no-such-binary")

    monkeypatch.setenv("WHARF_REQUIRE_INTEGRATION", "1")
    with pytest.raises(pytest.fail.Exception):
        require_binary("wharf-no-such-binary")
